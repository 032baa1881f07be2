// PROTOCOL.md is the single source of truth: every agent-socket example in
// it must decode with this SDK and type-check against its frame types as an
// exact object literal (so a key the types lack, or one they require and the
// example lacks, fails), and section 9's frame table must list exactly the
// SDK's frame types, each key with the same optionality.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { decodeFromRelay } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = readFileSync(join(root, "..", "PROTOCOL.md"), "utf8");

const toRelay = new Set(["auth", "skills", "agent_chunk", "agent_complete", "agent_error", "agent_status", "agent_message", "agent_input_request", "tool_call", "ping"]);
const fromRelay = new Set(["auth_ok", "auth_error", "task", "task_cancel", "agent_message_ack", "input_response", "input_timeout", "tool_result", "app_event", "error", "pong"]);

interface Example {
  json: string;
  value: Record<string, unknown>;
  line: number;
}

function examples(): Example[] {
  const out: Example[] = [];
  const re = /```json\n([\s\S]*?)```/g;
  for (let m = re.exec(doc); m; m = re.exec(doc)) {
    const json = m[1]!.trim();
    out.push({ json, value: JSON.parse(json), line: doc.slice(0, m.index).split("\n").length + 1 });
  }
  return out;
}

/** direction tells which side of the agent socket sends an example, or undefined for a client-socket one. */
function direction(v: Record<string, unknown>): "AgentToRelay" | "RelayToAgent" | undefined {
  const t = String(v.type);
  if (t === "auth") return "token" in v ? "AgentToRelay" : undefined;
  if (t === "auth_ok") return "agent" in v ? "RelayToAgent" : undefined;
  // input_response is also the client's answer on /ws, which names no task.
  if (t === "input_response") return "taskId" in v ? "RelayToAgent" : undefined;
  if (toRelay.has(t)) return "AgentToRelay";
  if (fromRelay.has(t)) return "RelayToAgent";
  return undefined;
}

const agentExamples = examples().filter((e) => direction(e.value));

test("PROTOCOL.md has an example of every agent-socket frame type", () => {
  const seen = new Set(agentExamples.map((e) => String(e.value.type)));
  for (const t of [...toRelay, ...fromRelay]) assert.ok(seen.has(t), `no example of ${t}`);
});

test("every relay → agent example decodes", () => {
  for (const e of agentExamples) {
    if (direction(e.value) !== "RelayToAgent") continue;
    const f = decodeFromRelay(e.json);
    assert.ok(f, `PROTOCOL.md line ${e.line}: does not decode: ${e.json}`);
    assert.equal(f.type, e.value.type);
  }
});

// The table of section 9: | direction | `type` | `key`, `key?` |.
function frameTable(): Map<string, { key: string; optional: boolean }[]> {
  const start = doc.indexOf("## 9. Agent socket");
  const end = doc.indexOf("### Authentication", start);
  assert.ok(start > 0 && end > start, "section 9's frame table not found");
  const rows = new Map<string, { key: string; optional: boolean }[]>();
  for (const line of doc.slice(start, end).split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    if (cells.length < 4) continue;
    const types = [...(cells[2] ?? "").matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!);
    const keysCell = cells[3] ?? "";
    const keys = keysCell.includes("`") ? [...keysCell.matchAll(/`([A-Za-z]+)(\??)`/g)].map((m) => ({ key: m[1]!, optional: m[2] === "?" })) : null;
    for (const t of types) if (keys || keysCell === "—") rows.set(t, keys ?? []);
      else rows.set(t, rows.get(t) ?? []);
  }
  return rows;
}

test("types and the frame table check against each other with tsc", () => {
  const table = frameTable();
  const lines: string[] = [
    `import type { AgentToRelay, RelayToAgent } from "../dist/src/protocol.js";`,
    `type Any = AgentToRelay | RelayToAgent;`,
    `type Frame<T> = Extract<Any, { type: T }>;`,
    `type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;`,
    `type Optional<T, K extends keyof T> = {} extends Pick<T, K> ? true : false;`,
    `function ok<_ extends true>(): void {}`,
    `ok<Equal<Any["type"], ${[...table.keys()].map((t) => JSON.stringify(t)).join(" | ")}>>();`,
  ];
  for (const [t, keys] of table) {
    for (const { key, optional } of keys) {
      lines.push(`ok<Equal<Optional<Frame<"${t}">, "${key}">, ${optional}>>(); // section 9: ${t}.${key}${optional ? "?" : ""}`);
    }
  }
  agentExamples.forEach((e, i) => {
    lines.push(`// PROTOCOL.md line ${e.line}`, `export const e${i}: ${direction(e.value)} = ${e.json};`);
  });
  const dir = mkdtempSync(join(root, ".protocol-check-"));
  try {
    writeFileSync(join(dir, "examples.ts"), lines.join("\n") + "\n");
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: { strict: true, exactOptionalPropertyTypes: true, noEmit: true, target: "es2022", module: "nodenext", moduleResolution: "nodenext", types: [] },
        files: ["examples.ts"],
      }),
    );
    try {
      execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", dir], { encoding: "utf8" });
    } catch (err) {
      const e = err as { stdout?: string };
      assert.fail(`the SDK's types disagree with PROTOCOL.md:\n${e.stdout}\n--- generated:\n${lines.map((l, i) => `${i + 1}: ${l}`).join("\n")}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
