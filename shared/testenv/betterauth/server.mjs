// A stock Better Auth server for interop tests: the documented minimal setup
// (Postgres pool, secret, baseURL, email and password, and the two mail
// callbacks every app with password reset and verification supplies) and
// nothing else, so that what the Go side is tested against is what users
// actually run.
//
// Configuration comes from the environment, set by betterauth.go:
//   DATABASE_URL                 postgres connection string (tables must exist)
//   BETTER_AUTH_SECRET           signing secret
//   BETTER_AUTH_URL              baseURL
//   PEER_TRUSTED_ORIGINS         extra trusted origins, comma-separated
//   PEER_SESSION_EXPIRES_IN      session.expiresIn in seconds (optional)
//   PEER_SESSION_UPDATE_AGE      session.updateAge in seconds (optional)
//   PEER_HOST, PEER_PORT         listen address (port 0 picks a free port)
// When listening it prints one line, "READY http://HOST:PORT", on stdout.
import http from "node:http";
import pg from "pg";
import { betterAuth } from "better-auth";
import { toNodeHandler } from "better-auth/node";

function required(name) {
	const v = process.env[name];
	if (!v) {
		console.error(`betterauth peer: ${name} is required`);
		process.exit(2);
	}
	return v;
}

const pool = new pg.Pool({ connectionString: required("DATABASE_URL"), max: 4 });
const trustedOrigins = (process.env.PEER_TRUSTED_ORIGINS || "")
	.split(",")
	.map((s) => s.trim())
	.filter(Boolean);

// Only what the test asked for is set; otherwise Better Auth's defaults hold.
const session = {};
if (process.env.PEER_SESSION_EXPIRES_IN) session.expiresIn = Number(process.env.PEER_SESSION_EXPIRES_IN);
if (process.env.PEER_SESSION_UPDATE_AGE) session.updateAge = Number(process.env.PEER_SESSION_UPDATE_AGE);

// Better Auth sends no mail itself: it hands each link to these callbacks.
// The peer prints them as "MAIL {json}" lines for the Go side to read.
function mail(kind) {
	return async ({ user, url, token }) => {
		console.log("MAIL " + JSON.stringify({ kind, email: user.email, url, token }));
	};
}

const auth = betterAuth({
	database: pool,
	secret: required("BETTER_AUTH_SECRET"),
	baseURL: required("BETTER_AUTH_URL"),
	emailAndPassword: { enabled: true, sendResetPassword: mail("reset-password") },
	emailVerification: { sendVerificationEmail: mail("verify-email") },
	trustedOrigins,
	...(Object.keys(session).length ? { session } : {}),
});

const server = http.createServer(toNodeHandler(auth));
const host = process.env.PEER_HOST || "127.0.0.1";
const port = Number(process.env.PEER_PORT || 0);

server.listen(port, host, () => {
	const addr = server.address();
	console.log(`READY http://${host}:${addr.port}`);
});

let stopping = false;
async function stop() {
	if (stopping) return;
	stopping = true;
	server.closeAllConnections?.();
	await new Promise((resolve) => server.close(resolve));
	await pool.end();
	process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The Go side owns this process; if it dies and our stdin closes, go too.
process.stdin.on("end", stop);
process.stdin.resume();
