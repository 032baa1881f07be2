// Scenarios of the TypeScript SDK that relay/interop's Go tests run against
// real relay processes. Each prints JSON lines {"event": …} on stdout; some
// wait for a line on stdin ("resume") from the test that drives them.
import { createInterface } from "node:readline";
import { Agent, InputTimeoutError, mention, run, type Task } from "../src/index.js";

const url = process.env.ARI_RELAY_URL ?? "";
const token = process.env.ARI_AGENT_TOKEN ?? "";
const backoff = { initialMs: 20, maxMs: 100 };

function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

const stdinLines: string[] = [];
let stdinWaiter: (() => void) | undefined;
createInterface({ input: process.stdin }).on("line", (l) => {
  stdinLines.push(l.trim());
  stdinWaiter?.();
});
async function waitLine(want: string): Promise<void> {
  for (;;) {
    const i = stdinLines.indexOf(want);
    if (i >= 0) {
      stdinLines.splice(i, 1);
      return;
    }
    await new Promise<void>((r) => (stdinWaiter = r));
  }
}

function errName(e: unknown): string {
  return e instanceof Error ? e.name : String(e);
}

const scenarios: Record<string, () => Promise<void>> = {
  // Writes 200 chunks, stopping halfway until the test has cut the socket.
  async steady() {
    const agent = await Agent.connect({ url, token, backoff });
    emit("ready", { agent: agent.info });
    await agent.serve(async (task: Task) => {
      for (let i = 0; i < 200; i++) {
        if (i === 100) {
          emit("halfway");
          await waitLine("resume");
        }
        await task.write(`Stück ${i} — ✓ `);
      }
    });
  },

  // Streams until a member cancels, then reports what the signal said.
  async cancel() {
    const agent = await Agent.connect({ url, token, backoff });
    emit("ready", { agent: agent.info });
    for await (const task of agent.tasks()) {
      await task.status("thinking", "Überlege …");
      await task.write("Ich fange an … ");
      emit("streaming", { taskId: task.id });
      const reason = await new Promise<unknown>((resolve) => {
        const keepAlive = setInterval(() => void task.write("").catch(() => {}), 200);
        task.signal.addEventListener("abort", () => {
          clearInterval(keepAlive);
          resolve(task.signal.reason);
        });
      });
      const after = await task.write("zu spät").then(
        () => "written",
        (e: unknown) => errName(e),
      );
      const end = await task.complete().then(
        () => "completed",
        (e: unknown) => errName(e),
      );
      emit("aborted", { name: errName(reason), reason: (reason as { reason?: string }).reason, after, end });
      await agent.stop();
    }
  },

  // Waits for the relay to revoke the token, then tries the old token again.
  async revoked() {
    const agent = await Agent.connect({ url, token, backoff });
    emit("ready", { agent: agent.info });
    const err = await agent.done.then(() => undefined, (e: unknown) => e);
    emit("stopped", { err: errName(err) });
    const again = await Agent.connect({ url, token, backoff }).then(
      (a) => {
        void a.stop();
        return undefined;
      },
      (e: unknown) => e,
    );
    emit("reconnect", { err: errName(again), code: (again as { code?: string })?.code });
  },

  // A second process of the same agent takes over; the first stops with ReplacedError.
  async replaced() {
    const first = await Agent.connect({ url, token, backoff });
    const second = await Agent.connect({ url, token, backoff });
    const err = await first.done.then(() => undefined, (e: unknown) => e);
    const secondUp = !second.signal.aborted;
    await second.stop();
    const secondErr = await second.done.then(() => undefined, (e: unknown) => e);
    emit("stopped", { err: errName(err), secondUp, secondErr: secondErr ? errName(secondErr) : null });
  },

  // Two agents in a group: Ping answers the person by mentioning Pong, whose
  // task then carries the chain; Pong reports what it saw.
  async chain() {
    const ping = await Agent.connect({ url, token: process.env.PING_TOKEN ?? "", backoff });
    const pong = await Agent.connect({ url, token: process.env.PONG_TOKEN ?? "", backoff });
    emit("ready");
    void ping.serve(async (task) => {
      await task.complete(`Ich frage ${mention("Pong Bot")} nach dem Wetter.`);
    });
    for await (const task of pong.tasks()) {
      emit("pong-task", {
        chain: task.chain,
        mentionBack: task.mentionBack(),
        lastHop: task.lastHop,
        message: task.message,
        history: task.history,
      });
      await task.complete("Sonnig.");
      break;
    }
    await Promise.all([ping.stop(), pong.stop()]);
  },

  // Asks the conversation's people, by the message: "frage" a question with
  // options, "genehmige" an approval, "warte" a question nobody answers in
  // time. Reports each answer (or timeout) as it resolves, then ends the
  // reply with it.
  async ask() {
    const agent = await Agent.connect({ url, token, backoff });
    emit("ready");
    await agent.serve(async (task) => {
      await task.write("Moment … ");
      const content = task.message.content;
      try {
        if (content.startsWith("frage")) {
          const a = await task.ask("Welche Uhrzeit?", { options: ["18:00", "19:30", "21:00"] });
          emit("answered", { taskId: task.id, kind: "question", ...a });
          await task.complete(`Moment … um ${a.text}.`);
        } else if (content.startsWith("genehmige")) {
          const a = await task.approve("Soll ich den Tisch reservieren?");
          emit("answered", { taskId: task.id, kind: "approval", ...a });
          await task.complete(a.approved ? "Moment … gebucht." : "Moment … nicht gebucht.");
        } else {
          await task.ask("Welche Farbe?", { schema: { type: "object", properties: { color: { type: "string" } } } });
          emit("answered", { taskId: task.id, kind: "unexpected" });
        }
      } catch (err) {
        if (!(err instanceof InputTimeoutError)) throw err;
        emit("timeout", { taskId: task.id, requestId: err.requestId });
        await task.complete("Moment … keine Antwort.");
      }
    });
  },

  // App events: the first task waits for one (task.appEvents) and answers
  // with its text line; the next reports what its history holds.
  async events() {
    const agent = await Agent.connect({ url, token, backoff });
    emit("ready");
    let n = 0;
    await agent.serve(async (task) => {
      if (n++ === 0) {
        await task.write("Ich schaue zu … ");
        for await (const e of task.appEvents()) {
          emit("app-event", { frame: e });
          await task.complete(e.text);
          return;
        }
        return;
      }
      emit("history", { entries: task.historyAppEvents });
      await task.complete(`${task.historyAppEvents.length} app events before this task`);
      await agent.stop();
    });
  },

  // Posts a message of its own and reports the ack, then the same id again.
  async post() {
    const agent = await Agent.connect({ url, token, backoff });
    const conv = process.env.CONVERSATION_ID ?? "";
    const first = await agent.post(conv, "Erinnerung: Zug um 9:12 🚆", "am-drive-1");
    const again = await agent.post(conv, "Erinnerung: Zug um 9:12 🚆", "am-drive-1");
    const refused = await agent.post("c_nope", "x", "am-drive-2").then(
      () => undefined,
      (e: unknown) => e as { name: string; code: string },
    );
    emit("posted", { first, again, refused: refused && { name: refused.name, code: refused.code } });
    await agent.stop();
  },

  // Streams CHUNKS chunks of CHUNK_BYTES bytes per task as fast as the socket
  // takes them, and reports how long the writes took (SDK side).
  async bench() {
    const chunks = Number(process.env.CHUNKS ?? "20000");
    const piece = "x".repeat(Number(process.env.CHUNK_BYTES ?? "10"));
    const stop = new AbortController();
    let tasks = Number(process.env.TASKS ?? "1");
    await run({
      url,
      token,
      backoff,
      logger: { debug() {}, info: (msg) => msg.endsWith("connected") && emit("connected"), warn() {}, error: (msg, f) => emit("log", { msg, ...f }) },
      signal: stop.signal,
      handler: async (task) => {
        const t0 = performance.now();
        for (let i = 0; i < chunks; i++) await task.write(piece);
        await task.complete();
        emit("bench", { taskId: task.id, chunks, ms: performance.now() - t0 });
        if (--tasks === 0) setTimeout(() => stop.abort(), 10);
      },
    });
    emit("done");
  },
};

const name = process.env.SCENARIO ?? "";
const scenario = scenarios[name];
if (!scenario) {
  process.stderr.write(`unknown SCENARIO ${name}\n`);
  process.exit(2);
}
try {
  await scenario();
  process.exit(0);
} catch (err) {
  emit("failed", { err: String(err), name: errName(err) });
  process.exit(1);
}
