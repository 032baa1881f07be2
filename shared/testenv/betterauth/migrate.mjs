// Runs stock Better Auth's own migrator (the code behind `auth migrate`) on an
// empty database, so tests can compare the tables it creates with ours.
//   DATABASE_URL  the database to migrate
import pg from "pg";
import { getMigrations } from "better-auth/db/migration";

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2 });
try {
	const { runMigrations } = await getMigrations({
		database: pool,
		secret: "migration-only-secret-0123456789abcdefghij",
		baseURL: "http://127.0.0.1",
		emailAndPassword: { enabled: true },
	});
	await runMigrations();
	console.log("MIGRATED");
} finally {
	await pool.end();
}
