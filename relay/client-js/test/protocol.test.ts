// PROTOCOL.md is the single source of truth: every client-socket example in
// it must decode with this library and type-check against its types as an
// exact object literal (a key the types lack, or one they require and the
// example lacks, fails); the frame lists of sections 5 and 6 must name
// exactly the library's frame types, every key table of those sections must
// match the types key by key (optional or not), and section 7's event table
// must match EventData exactly.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { EVENT_TYPES, decodeFromRelay } from "../src/index.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const doc = readFileSync(join(root, "..", "PROTOCOL.md"), "utf8");

const toRelay = new Set(["send_message", "sync", "cancel_stream", "mark_read", "regenerate", "focus", "input_response", "ping",
  "channel_subscribe", "channel_unsubscribe", "channel_send", "app_action_result", "app_user_action", "app_state_event"]);
const agentOnly = new Set(["skills", "agent_chunk", "agent_complete", "agent_error", "agent_status", "agent_message", "task", "task_cancel", "agent_message_ack",
  "agent_input_request", "input_timeout", "tool_call", "tool_result", "app_event"]);

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

function direction(v: Record<string, unknown>): "ClientToRelay" | "RelayToClient" | undefined {
  const t = String(v.type);
  if (t === "auth") return "ticket" in v ? "ClientToRelay" : undefined;
  if (t === "auth_ok") return "user" in v ? "RelayToClient" : undefined;
  if (agentOnly.has(t)) return undefined;
  // input_response is also what the agent gets on /ws/agent, naming its task.
  if (t === "input_response" && "taskId" in v) return undefined;
  return toRelay.has(t) ? "ClientToRelay" : "RelayToClient";
}

const clientExamples = examples().filter((e) => direction(e.value));

function section(title: string): string {
  const start = doc.indexOf(title);
  assert.ok(start >= 0, `${title} not found`);
  const end = doc.indexOf("\n## ", start + title.length);
  return doc.slice(start, end < 0 ? undefined : end);
}

function cells(line: string): string[] {
  return line.split("|").map((c) => c.trim());
}

const ticks = (s: string) => [...s.matchAll(/`([A-Za-z_]+)`/g)].map((m) => m[1]!);

// Every "### `type`" heading of a section, with the rows of the key table under it.
function keyTables(sec: string): Map<string, { key: string; optional: boolean }[]> {
  const out = new Map<string, { key: string; optional: boolean }[]>();
  const parts = sec.split(/\n### /);
  for (const part of parts.slice(1)) {
    const heads = ticks(part.split("\n")[0]!);
    const rows: { key: string; optional: boolean }[] = [];
    const lines = part.split("\n");
    const header = lines.findIndex((l) => /^\| key \|/.test(l));
    if (header < 0) continue;
    for (const l of lines.slice(header + 2)) {
      if (!l.startsWith("|")) break;
      const c = cells(l);
      const key = /^`([A-Za-z]+)`$/.exec(c[1] ?? "")?.[1];
      if (key) rows.push({ key, optional: /optional/.test(c[2] ?? "") });
    }
    for (const h of heads) out.set(h, rows);
  }
  return out;
}

test("PROTOCOL.md has an example of every client-socket frame and event type", () => {
  const seen = new Set(clientExamples.map((e) => String(e.value.type)));
  for (const t of [...toRelay, ...EVENT_TYPES, "message_ack", "stream_start", "stream_chunk", "stream_end", "stream_status", "sync_result", "error", "pong"]) {
    assert.ok(seen.has(t), `no example of ${t}`);
  }
});

test("every relay → client example decodes", () => {
  for (const e of clientExamples) {
    if (direction(e.value) !== "RelayToClient") continue;
    const f = decodeFromRelay(e.json);
    assert.ok(f, `PROTOCOL.md line ${e.line}: does not decode: ${e.json}`);
    assert.equal(f.type, e.value.type);
    if (f.type === "sync_result") assert.equal(f.events.length, (e.value.events as unknown[]).length);
  }
});

test("types, frame tables and event table check against each other with tsc", () => {
  // Section 5: | `type` | `key`, `key?` |
  const s5 = section("## 5. Client → relay");
  const clientTypes = new Map<string, { key: string; optional: boolean }[]>();
  for (const l of s5.split("\n### ")[0]!.split("\n")) {
    const c = cells(l);
    const t = /^`([a-z_]+)`$/.exec(c[1] ?? "")?.[1];
    if (!t || c.length < 4) continue;
    clientTypes.set(t, [...(c[2] ?? "").matchAll(/`([A-Za-z]+)(\??)`/g)].filter((m) => m[1] !== "null").map((m) => ({ key: m[1]!, optional: m[2] === "?" })));
  }
  // Section 6: | `type`, `type` | to whom |
  const s6 = section("## 6. Relay → client");
  const relayTypes = new Set<string>();
  for (const l of s6.split("\n### ")[0]!.split("\n")) {
    const c = cells(l);
    if ((c[1] ?? "").startsWith("`")) for (const t of ticks(c[1]!)) relayTypes.add(t);
  }
  // Section 7: | `type`, `type` | `{key, key}` | when |
  const events = new Map<string, string[]>();
  for (const l of section("## 7. Events").split("\n")) {
    const c = cells(l);
    const keys = /^`\{([^}]*)\}`$/.exec(c[2] ?? "")?.[1];
    if (keys === undefined || !(c[1] ?? "").startsWith("`")) continue;
    for (const t of ticks(c[1]!)) events.set(t, keys.split(",").map((k) => k.trim()).filter(Boolean));
  }
  assert.ok(clientTypes.size >= 7 && relayTypes.size >= 10 && events.size >= 11, "tables not found");

  const union = (xs: Iterable<string>) => [...xs].map((x) => JSON.stringify(x)).join(" | ");
  const lines: string[] = [
    `import type { ClientToRelay, RelayToClient, EventData, EventFrame } from "../dist/src/protocol.js";`,
    `type Any = ClientToRelay | RelayToClient;`,
    `type Frame<T> = Extract<Any, { type: T }>;`,
    `type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;`,
    `type Optional<T, K extends keyof T> = {} extends Pick<T, K> ? true : false;`,
    `function ok<_ extends true>(): void {}`,
    `ok<Equal<ClientToRelay["type"], ${union(clientTypes.keys())} | "auth">>(); // section 5 (auth: section 2)`,
    `ok<Equal<Exclude<RelayToClient, EventFrame>["type"], ${union(relayTypes)} | "auth_ok" | "auth_error">>(); // section 6 (auth_*: section 2)`,
    `ok<Equal<EventFrame["type"], ${union(events.keys())}>>(); // section 7`,
  ];
  for (const [t, keys] of clientTypes) {
    for (const { key, optional } of keys) lines.push(`ok<Equal<Optional<Frame<"${t}">, "${key}">, ${optional}>>(); // section 5: ${t}.${key}`);
  }
  for (const [t, keys] of [...keyTables(s5), ...keyTables(s6)]) {
    for (const { key, optional } of keys) lines.push(`ok<Equal<Optional<Frame<"${t}">, "${key}">, ${optional}>>(); // key table: ${t}.${key}`);
  }
  for (const [t, keys] of events) lines.push(`ok<Equal<keyof EventData["${t}"], ${keys.length ? union(keys) : "never"}>>(); // section 7: ${t}`);
  clientExamples.forEach((e, i) => lines.push(`// PROTOCOL.md line ${e.line}`, `export const e${i}: ${direction(e.value)} = ${e.json};`));

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
      assert.fail(`the library's types disagree with PROTOCOL.md:\n${e.stdout}\n--- generated:\n${lines.map((l, i) => `${i + 1}: ${l}`).join("\n")}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
