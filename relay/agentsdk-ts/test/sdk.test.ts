import assert from "node:assert/strict";
import { test } from "node:test";
import { parseDuration, reply, words } from "../examples/echo.js";
import { Backoff, handle, mention, utf8Length } from "../src/index.js";
import { truncate, validText } from "../src/text.js";

test("utf8Length counts bytes as the relay does", () => {
  assert.equal(utf8Length("In Tōkyō ist es "), 18);
  assert.equal(utf8Length("é🙂東"), 2 + 4 + 3);
  assert.equal(utf8Length("a\ud83db"), 5); // a lone surrogate as U+FFFD
});

test("validText refuses lone surrogates and U+0000", () => {
  assert.ok(validText("😀 ok"));
  assert.ok(!validText("\ud83d"));
  assert.ok(!validText("x\ude00"));
  assert.ok(!validText("a\u0000b"));
});

test("truncate keeps whole characters", () => {
  assert.equal(truncate("ab🙂", 5), "ab");
  assert.equal(truncate("ab🙂", 6), "ab🙂");
  assert.equal(truncate("éé", 3), "é");
});

test("handle and mention follow the relay's rule", () => {
  assert.equal(handle("Echo Bot"), "echo-bot");
  assert.equal(handle("GPT 4.1 (fast)"), "gpt-4-1-fast");
  assert.equal(handle("Café"), "caf");
  assert.equal(mention("Pong Bot"), "@pong-bot");
});

test("backoff doubles to its maximum with jitter from the upper half", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 400 }, () => 1);
  assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 400]);
  const low = new Backoff({ initialMs: 100, maxMs: 400 }, () => 0);
  assert.equal(low.next(), 50);
  b.reset();
  assert.equal(b.next(), 100);
});

test("the echo example keeps every byte and says which take", () => {
  for (const s of ["", "a", "Hallo Welt", "  lead", "trail  ", "Wie spät\nist es in 東京? 🙂  ok"]) {
    assert.equal(words(s).join(""), s);
  }
  assert.deepEqual(words("You said: hi  there"), ["You ", "said: ", "hi  ", "there"]);
  const message = { id: "m", seq: 1, content: "hi", sender: { id: "u", name: "Ada" }, attachments: [] };
  assert.equal(reply({ message, regenerate: undefined }), "You said: hi");
  assert.equal(reply({ message: { ...message, content: "", attachments: [{ id: "a", url: "u", contentType: "t", size: 1, name: "n" }] }, regenerate: undefined }), "You sent 1 attachment.");
  assert.equal(reply({ message, regenerate: { version: 2, previousReplyId: "r1", previousContent: "x" } }), "(take 2) You said: hi");
  assert.equal(parseDuration("60ms"), 60);
  assert.equal(parseDuration("1.5s"), 1500);
  assert.equal(parseDuration("0"), 0);
  assert.equal(parseDuration("fast"), undefined);
});

test("a chain task tells who mentioned it and whether it is the last hop", async () => {
  const { Agent, Task, decodeFromRelay } = await import("../src/index.js");
  const agent = new Agent({ token: "ari_x" });
  const f = decodeFromRelay(
    '{"type":"task","taskId":"r_46","conversationId":"c_01","messageId":"r_46","message":{"id":"r_45","seq":45,"content":"Ich frage @pong-bot.","sender":{"id":"ag_ping","name":"Ping Bot"},"attachments":[]},"history":[],"chain":{"rootMessageId":"msg_44","hop":4,"maxHops":4,"mentionedBy":{"id":"ag_ping","name":"Ping Bot","handle":"ping-bot"}}}',
  );
  assert.equal(f?.type, "task");
  if (f?.type !== "task") return;
  const t = new Task(agent, f);
  assert.equal(t.mentionBack(), "@ping-bot");
  assert.equal(t.lastHop, true);
  assert.equal(t.chain?.rootMessageId, "msg_44");
  const plain = decodeFromRelay('{"type":"task","taskId":"t","conversationId":"c","messageId":"t","message":{"id":"m","seq":1,"content":"hi","sender":{"id":"u","name":"Ada"}}}');
  if (plain?.type !== "task") return assert.fail("no task");
  const p = new Task(agent, plain);
  assert.equal(p.mentionBack(), "");
  assert.equal(p.lastHop, false);
  assert.deepEqual(p.attachments, []); // absent lists are made empty
  assert.deepEqual(p.history, []);
  await assert.rejects(p.write("a\u0000b"), { name: "InvalidInputError" });
  await assert.rejects(p.status("sleeping" as "thinking"), { name: "InvalidInputError" });
});

test("ask and approve: bounds checked before sending, an answer resolves once, timeouts, refusals and the task's end reject", async () => {
  const { Agent, CancelledError, Task, decodeFromRelay } = await import("../src/index.js");
  const agent = new Agent({ token: "ari_x" });
  const f = decodeFromRelay('{"type":"task","taskId":"t_42","conversationId":"c","messageId":"t_42","message":{"id":"m","seq":1,"content":"hi","sender":{"id":"u","name":"Ada"}}}');
  if (f?.type !== "task") return assert.fail("no task");
  const t = new Task(agent, f);
  for (const bad of [
    t.ask(""),
    t.ask("   "),
    t.ask("x", { options: [] }),
    t.ask("x", { options: ["a", "a"] }),
    t.ask("x", { options: ["a", "x".repeat(201)] }),
    t.ask("x", { schema: { big: "x".repeat(8192) } }),
    t.ask("x".repeat(4097)),
    t.approve("x", { requestId: "no spaces" }),
    t.ask("a\u0000b"),
  ]) {
    await assert.rejects(bad, { name: "InvalidInputError" });
  }
  const p = t.approve("Soll ich?", { requestId: "q-1" });
  await assert.rejects(t.ask("Und?"), { name: "InvalidInputError" }); // one request at a time
  assert.deepEqual(agent._asks.frames(), [{ type: "agent_input_request", taskId: "t_42", requestId: "q-1", kind: "approval", prompt: "Soll ich?" }]);
  agent._asks.answer({ type: "input_response", taskId: "t_42", requestId: "q-9", approved: false, userId: "u_bob" }); // another request: dropped
  agent._asks.answer({ type: "input_response", taskId: "t_42", requestId: "q-1", approved: true, userId: "u_ada" });
  agent._asks.answer({ type: "input_response", taskId: "t_42", requestId: "q-1", approved: false, userId: "u_bob" }); // a repeat: dropped
  assert.deepEqual(await p, { requestId: "q-1", text: "", approved: true, userId: "u_ada" });
  assert.deepEqual(agent._asks.frames(), []);

  const q = t.ask("Welche Uhrzeit?", { options: ["18:00", "19:30"], requestId: "q-2" });
  agent._asks.answer({ type: "input_timeout", taskId: "t_42", requestId: "q-2" });
  await assert.rejects(q, { name: "InputTimeoutError", requestId: "q-2" });
  const r = t.ask("Und?", { requestId: "q-3", schema: { type: "object" } });
  assert.equal(agent._asks.refuse({ type: "error", code: "not_found", message: "x", ref: "t_42" }), false);
  assert.equal(agent._asks.refuse({ type: "error", code: "input_pending", message: "waits for q-1", ref: "t_42" }), true);
  await assert.rejects(r, { name: "InputError", code: "input_pending" });
  const stop = new AbortController();
  const s = t.ask("Name?", { requestId: "q-4", signal: stop.signal });
  stop.abort(new Error("caller gave up"));
  await assert.rejects(s, { message: "caller gave up" });
  const u = t.approve("Los?", { requestId: "q-5" });
  t.controller.abort(new CancelledError("user_cancelled"));
  await assert.rejects(u, { name: "CancelledError" });
  await assert.rejects(t.approve("Noch?"), { name: "CancelledError" });
});

test("tool calls: bounds checked before sending, a result settles its call once, errors carry the code, timeouts, aborts and the task's end reject", async () => {
  const { Agent, CancelledError, Task, decodeFromRelay, tool, findTool } = await import("../src/index.js");
  const agent = new Agent({ token: "ari_x" });
  const f = decodeFromRelay(
    '{"type":"task","taskId":"t_7","conversationId":"c","messageId":"t_7","message":{"id":"m","seq":1,"content":"/note Milch","sender":{"id":"u","name":"Ada"}},"history":[],"tools":[{"name":"notes__add_note","description":"Pin a note.","parameters":{"type":"object"}}]}',
  );
  if (f?.type !== "task") return assert.fail("no task");
  const t = new Task(agent, f);
  const addNote = tool<{ text: string }, { count: number }>("add_note");
  assert.equal(addNote.offered(t), true);
  assert.equal(tool("clear").offered(t), false);
  assert.equal(findTool(t.tools, "notes__add_note")?.name, "notes__add_note");
  for (const bad of [
    t.call("", {}),
    t.call("x".repeat(257)),
    t.call("notes__add_note", [] as unknown as Record<string, unknown>),
    t.call("notes__add_note", { text: "x".repeat(32 * 1024) }),
    t.call("notes__add_note", {}, { callId: "no spaces" }),
  ]) {
    await assert.rejects(bad, { name: "InvalidInputError" });
  }
  assert.deepEqual(agent._calls.frames(), []);

  const p = addNote.call(t, { text: "Milch" }, { callId: "call_a" });
  const q = t.call("notes__add_note", { text: "Brot" });
  await assert.rejects(t.call("notes__add_note", {}, { callId: "call_a" }), { name: "InvalidInputError" }); // in flight
  const frames = agent._calls.frames();
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0], { type: "tool_call", taskId: "t_7", callId: "call_a", tool: "notes__add_note", arguments: { text: "Milch" } });
  assert.match(frames[1]!.callId, /^call_[0-9a-f]{32}$/);
  agent._calls.answer({ type: "tool_result", taskId: "t_other", callId: "call_a", result: { count: 9 } }); // another task's: dropped
  agent._calls.answer({ type: "tool_result", taskId: "t_7", callId: "call_a", result: { count: 1 } });
  agent._calls.answer({ type: "tool_result", taskId: "t_7", callId: "call_a", result: { count: 2 } }); // given again: dropped
  assert.deepEqual(await p, { count: 1 });
  agent._calls.answer({ type: "tool_result", taskId: "t_7", callId: frames[1]!.callId, error: { code: "invalid_arguments", message: "at /text: too long" } });
  await assert.rejects(q, { name: "ToolError", code: "invalid_arguments", callId: frames[1]!.callId });

  await assert.rejects(t.call("notes__add_note", { text: "x" }, { timeoutMs: 5 }), { name: "ToolError", code: "timeout" });
  const stop = new AbortController();
  const r = t.call("notes__add_note", { text: "x" }, { signal: stop.signal });
  stop.abort(new Error("caller gave up"));
  await assert.rejects(r, { message: "caller gave up" });
  const u = t.call("notes__add_note", { text: "x" });
  t.controller.abort(new CancelledError("user_cancelled"));
  await assert.rejects(u, { name: "CancelledError" });
  await assert.rejects(t.call("notes__add_note", { text: "y" }), { name: "CancelledError" });
  assert.deepEqual(agent._calls.frames(), []);
});

test("app events: the task's history lists those before it, appEvents yields those while it runs and ends with the task", async () => {
  const { Agent, Task, decodeFromRelay } = await import("../src/index.js");
  const agent = new Agent({ token: "ari_x" });
  const f = decodeFromRelay(
    '{"type":"task","taskId":"t_9","conversationId":"c_01","messageId":"t_9","message":{"id":"m","seq":3,"content":"Dein Zug.","sender":{"id":"u","name":"Ada"}},"history":[{"role":"user","senderName":"Ada","content":"Los.","seq":1},{"type":"app_event","app":"notes","kind":"action","name":"add_note","actor":"user","data":{"text":"Milch"},"at":"2025-03-04T04:06:07.891Z","text":"[app notes] user invoked add_note {\\"text\\":\\"Milch\\"}"}]}',
  );
  if (f?.type !== "task") return assert.fail("no task");
  const t = new Task(agent, f);
  assert.deepEqual(t.historyAppEvents.map((e) => `${e.kind}:${e.name}`), ["action:add_note"]);
  const ev = (name: string) => decodeFromRelay(JSON.stringify({ type: "app_event", taskId: "t_9", conversationId: "c_01", sessionId: "s_1", app: "notes", kind: "state", name, at: "2025-03-04T04:06:08.000Z", text: `[app notes] state ${name}` }));
  const first = ev("notes_changed");
  if (first?.type !== "app_event") return assert.fail("no app_event");
  t._appEvent(first);
  const seen: string[] = [];
  const done = (async () => {
    for await (const e of t.appEvents()) seen.push(e.name);
  })();
  await new Promise((r) => setTimeout(r, 0));
  const second = ev("board_cleared");
  if (second?.type !== "app_event") return assert.fail("no app_event");
  t._appEvent(second);
  await t.complete("ok").catch(() => {}); // no socket: the end waits in the queue, the task is over for its handler
  await done;
  assert.deepEqual(seen, ["notes_changed", "board_cleared"]);
});
