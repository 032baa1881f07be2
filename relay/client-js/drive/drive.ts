// Scenarios of the client library that relay/interop's Go tests run against
// real relay processes, in Node with the `ws` package and a bearer token.
// Each prints JSON lines {"event": …} on stdout.
import { createInterface } from "node:readline";
import { WebSocket } from "ws";
import { AriClient, type AppActionFrame, type InputClosed, type InputRequest, type StreamState, type SyncResultFrame, type WebSocketConstructor } from "../src/index.js";

const urls: string[] = JSON.parse(process.env.URLS ?? "[]");
const token = process.env.TOKEN ?? "";
const conv = process.env.CONVERSATION_ID ?? "";

function emit(event: string, fields: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ event, ...fields }) + "\n");
}

function client(): AriClient {
  return new AriClient({ url: urls, token, WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { initialMs: 50, maxMs: 400 } });
}

/** until resolves with the first value of the client's "stream" news that satisfies ok. */
function until(c: AriClient, ok: (s: StreamState) => boolean): Promise<StreamState> {
  return new Promise((resolve) => {
    const off = c.on("stream", (s) => {
      if (ok(s)) {
        off();
        resolve(s);
      }
    });
  });
}

/** inputOf resolves with the open input request of a reply (held already, or when it opens). */
function inputOf(c: AriClient, messageId: string): Promise<InputRequest> {
  const held = [...c.inputs.values()].find((r) => r.messageId === messageId);
  if (held) return Promise.resolve(held);
  return new Promise((resolve) => {
    const off = c.on("input", (r) => {
      if (r.messageId === messageId) {
        off();
        resolve(r);
      }
    });
  });
}

/** closedOf resolves when the request leaves the client's open inputs. */
function closedOf(c: AriClient, requestId: string): Promise<InputClosed> {
  return new Promise((resolve) => {
    const off = c.on("inputClosed", (x) => {
      if (x.request.requestId === requestId) {
        off();
        resolve(x);
      }
    });
  });
}

/** replyTo sends text and returns its reply's id and a promise of its end. */
async function replyTo(c: AriClient, text: string): Promise<{ id: string; end: Promise<StreamState> }> {
  const ack = await c.send(conv, text);
  const id = ack.replies?.[0]?.messageId ?? "";
  return { id, end: until(c, (s) => s.messageId === id && s.status !== "streaming") };
}

const stdinLines: string[] = [];
let stdinWaiter: (() => void) | undefined;
createInterface({ input: process.stdin }).on("line", (l) => {
  stdinLines.push(l.trim());
  stdinWaiter?.();
});
async function nextLine(): Promise<string> {
  while (stdinLines.length === 0) await new Promise<void>((r) => (stdinWaiter = r));
  return stdinLines.shift()!;
}

const scenarios: Record<string, () => Promise<void>> = {
  // Community channels (section 18) across two relay instances: Ada on the
  // first, Bob on the second (then the first); an outsider is refused. Ada's
  // message @mentions the agent; both follow its reply by offset. The test
  // SIGKILLs Bob's instance mid-reply: Bob subscribes again on the other
  // one, resumes from channel_subscribed.stream, and sends a message while
  // away that is stored once.
  async channels() {
    const channelId = process.env.CHANNEL_ID ?? "";
    const make = (u: string[], tok: string) =>
      new AriClient({ url: u, token: tok, WebSocket: WebSocket as unknown as WebSocketConstructor, backoff: { initialMs: 50, maxMs: 400 } });
    const ada = make([urls[0]!], token);
    const bob = make([urls[1]!, urls[0]!], process.env.TOKEN2 ?? "");
    const outsider = make([urls[1]!], process.env.TOKEN3 ?? "");
    const subscribed = (c: AriClient) =>
      new Promise<void>((resolve) => {
        const off = c.on("channel", (f) => {
          if (f.type === "channel_subscribed" && f.channelId === channelId) {
            off();
            resolve();
          }
        });
      });
    const refused = new Promise<string>((resolve) => outsider.on("error", (f) => f.ref === channelId && resolve(f.code)));
    const both = Promise.all([subscribed(ada), subscribed(bob)]);
    for (const c of [ada, bob, outsider]) {
      c.connect();
      c.subscribeChannel(channelId);
    }
    await both;
    emit("outsider", { code: await refused });
    outsider.close();

    const ack = await ada.sendChannel(channelId, process.env.MESSAGE ?? "@counter zähl", { clientMessageId: "cm-ada-1" });
    emit("acked", { seq: ack.message.seq });
    // The reply to Ada's message, on one client: its id once started, its end.
    const replyOf = (c: AriClient) => {
      let id = "";
      let announced = false;
      return new Promise<{ content: string; status: string; seq: number; away: boolean }>((resolve) => {
        c.on("channelStream", (s) => {
          if (!id && s.replyToId === ack.message.id) id = s.messageId;
          if (s.messageId !== id) return;
          if (c === bob && !announced && s.bytes > 0) {
            announced = true;
            emit("streaming", { bytes: s.bytes });
          }
          if (s.status !== "streaming") resolve({ content: s.content, status: s.status, seq: s.seq ?? 0, away: s.endedWhileAway ?? false });
          else if (s.endedWhileAway) resolve({ content: s.content, status: "away", seq: 0, away: true });
        });
      });
    };
    const adaReply = replyOf(ada);
    const bobReply = replyOf(bob);
    let second: Promise<unknown> | undefined;
    const states: string[] = [];
    bob.on("state", ({ state }) => {
      states.push(state);
      if (state === "reconnecting" && !second) {
        emit("state", { state });
        second = bob.sendChannel(channelId, "noch eins", { clientMessageId: "cm-bob-1" });
      }
    });
    const [a, b] = await Promise.all([adaReply, bobReply]);
    emit("reply", { ada: a, bob: b });
    const secondAck = (await second) as { message: { id: string; seq: number } } | undefined;
    emit("second", { acked: secondAck?.message.id ?? null, seq: secondAck?.message.seq ?? null, states });
    ada.close();
    bob.close();
  },

  // A page on another site: no cookie, no bearer; a fresh socket ticket
  // (asked of the test, which issues it as POST /api/auth/socket-ticket
  // does) for each connect. The test SIGKILLs the first instance in between.
  async ticket() {
    let tickets = 0;
    const c = new AriClient({
      url: urls,
      headers: { Origin: process.env.ORIGIN ?? "" },
      ticket: async () => {
        tickets++;
        emit("need-ticket");
        return nextLine();
      },
      WebSocket: WebSocket as unknown as WebSocketConstructor,
      backoff: { initialMs: 50, maxMs: 400 },
    });
    let opened = 0;
    const reopened = new Promise<void>((resolve) => c.on("state", (s) => s.state === "open" && ++opened === 2 && resolve()));
    c.connect();
    for (const [i, text] of ["eins", "zwei"].entries()) {
      if (i === 1) await reopened;
      const ack = await c.send(conv, text);
      const replyId = ack.replies?.[0]?.messageId ?? "";
      const end = await until(c, (s) => s.messageId === replyId && s.status !== "streaming");
      emit("reply", { content: end.content, status: end.status, tickets, sender: ack.message.senderUserId });
    }
    c.close();
  },

  // Sends a message and follows its reply across relay instances: the test
  // SIGKILLs the instance this socket is on mid-reply; a second message sent
  // while the socket is away goes out after the reconnect under its id.
  async resume() {
    const c = client();
    const states: string[] = [];
    let secondSent = false;
    let second: Promise<unknown> | undefined;
    c.on("state", ({ state }) => {
      states.push(state);
      emit("state", { state });
      if (state === "reconnecting" && !secondSent) {
        secondSent = true;
        second = c.send(conv, "noch eins", { clientMessageId: "m-second-1" });
      }
    });
    c.connect();
    const ack = await c.send(conv, process.env.MESSAGE ?? "hallo");
    emit("acked", { seq: ack.message.seq });
    const replyId = ack.replies?.[0]?.messageId ?? "";
    let announced = false;
    c.on("stream", (s) => {
      if (s.messageId === replyId && !announced && s.bytes > 0) {
        announced = true;
        emit("streaming", { bytes: s.bytes });
      }
    });
    const end = await until(c, (s) => s.messageId === replyId && s.status !== "streaming");
    emit("reply", { status: end.status, content: end.content, endedWhileAway: end.endedWhileAway ?? false });
    const secondAck = (await second) as { message: { id: string; seq: number } } | undefined;
    emit("second", { acked: secondAck?.message.id ?? null, states });
    c.close();
  },

  // The app runner: the test's agent calls the notes app's add_note (the
  // echo example's "/note"); the client holds the app_action, counting the
  // raw frames while the test makes the relay send it again ("count N": wait
  // until N arrived — the agent's socket cut, then the client's instance
  // SIGKILLed), then answers ("answer") and follows the reply to its end.
  async apps() {
    const raw = new Map<string, number>();
    let rawWaiter: (() => void) | undefined;
    class Tapped extends WebSocket {
      constructor(url: string, protocols?: string | string[], opts?: object) {
        super(url, protocols, opts);
        this.addEventListener("message", (ev) => {
          const f = JSON.parse(String(ev.data)) as { type?: string; callId?: string };
          if (f.type !== "app_action" || !f.callId) return;
          raw.set(f.callId, (raw.get(f.callId) ?? 0) + 1);
          rawWaiter?.();
        });
      }
    }
    const c = new AriClient({ url: urls, token, WebSocket: Tapped as unknown as WebSocketConstructor, backoff: { initialMs: 50, maxMs: 400 } });
    const news: AppActionFrame[] = [];
    const first = new Promise<AppActionFrame>((resolve) => c.on("appAction", (a) => (news.push(a), resolve(a))));
    const synced = new Promise((r) => c.on("sync", r));
    c.connect();
    await synced;
    const r = await replyTo(c, process.env.MESSAGE ?? "/note Milch kaufen");
    const a = await first;
    const session = c.appSessions.get(a.sessionId);
    emit("action", { action: a, pending: c.pendingAppActions().map((x) => x.callId), session: session && { mode: session.mode, appSlug: session.appSlug, entryUrl: session.entryUrl } });
    for (;;) {
      const line = await nextLine();
      if (line === "answer") break;
      const want = Number(line.replace(/^count /, ""));
      while ((raw.get(a.callId) ?? 0) < want) await new Promise<void>((res) => (rawWaiter = res));
      emit("raw", { raw: raw.get(a.callId), news: news.length, pending: c.pendingAppActions().map((x) => x.callId) });
    }
    const sent = c.answerAppAction(a, { result: { count: 1 } });
    const again = c.answerAppAction(a, { result: { count: 2 } });
    const end = await r.end;
    emit("reply", { sent, again, content: end.content, status: end.status, news: news.length, pending: c.pendingAppActions().length });
    c.close();
  },

  // A person's action in the app while the test's agent ("events") writes a
  // reply: reported (app_user_action) once the reply streams, acknowledged;
  // then an unknown event refused; then a second message.
  async report() {
    const c = client();
    const synced = new Promise((r) => c.on("sync", r));
    c.connect();
    await synced;
    const session = process.env.SESSION_ID ?? "";
    const r = await replyTo(c, "schau zu");
    if (!((c.streams.get(r.id)?.bytes ?? 0) > 0)) await until(c, (s) => s.messageId === r.id && s.bytes > 0);
    const ack = await c.reportAppAction(session, "add_note", { text: "Brot" }, { id: "ua-drive-1" });
    const refused = await c.reportAppEvent(session, "no_such_event", { x: 1 }).then(
      () => undefined,
      (e: { name: string; code: string }) => ({ name: e.name, code: e.code }),
    );
    const end = await r.end;
    emit("reported", { ack, refused, content: end.content, status: end.status });
    const second = await replyTo(c, "und jetzt?");
    const end2 = await second.end;
    emit("second", { content: end2.content });
    c.close();
  },

  // Questions and approvals of the test's agent (its "ask" scenario): the
  // client sees each input_request, answers it, and follows the reply to
  // its end. The test SIGKILLs the client's instance while the third
  // request is open; the reconnected client finds it in sync and answers.
  async inputs() {
    const c = client();
    const synced = new Promise((r) => c.on("sync", r));
    c.connect();
    await synced;
    for (const [name, text, answer] of [
      ["question", "frage nach der Uhrzeit", { answer: "19:30" }],
      ["approval", "genehmige bitte", { approved: true, answer: "gern" }],
    ] as const) {
      const r = await replyTo(c, text);
      const req = await inputOf(c, r.id);
      const closed = closedOf(c, req.requestId);
      const sent = c.answerInput(req.requestId, answer);
      const x = await closed;
      const end = await r.end;
      emit(name, { request: req, sent, closed: x.state, resolved: x.resolved, content: end.content, status: end.status, open: c.inputs.size });
    }
    const r = await replyTo(c, "genehmige noch einmal");
    const req = await inputOf(c, r.id);
    let lost = false;
    const resynced = new Promise<SyncResultFrame>((resolve) => {
      c.on("state", (s) => s.state === "reconnecting" && (lost = true));
      c.on("sync", (f) => lost && resolve(f));
    });
    emit("open", { requestId: req.requestId });
    const f = await resynced;
    emit("resynced", { listed: f.inputRequests.map((q) => q.requestId), held: [...c.inputs.keys()] });
    const closed = closedOf(c, req.requestId);
    const sent = c.answerInput(req.requestId, { approved: false });
    const x = await closed;
    const end = await r.end;
    emit("answered-after-reconnect", { sent, closed: x.state, content: end.content, status: end.status });
    c.close();
  },

  // A question nobody answers: the client sees it open, then expire.
  async expire() {
    const c = client();
    const synced = new Promise((r) => c.on("sync", r));
    c.connect();
    await synced;
    const r = await replyTo(c, process.env.MESSAGE ?? "warte");
    const req = await inputOf(c, r.id);
    emit("input", { request: req });
    const x = await closedOf(c, req.requestId);
    const end = await r.end;
    emit("expired", { closed: x.state, resolved: x.resolved, content: end.content, status: end.status, open: c.inputs.size });
    c.close();
  },

  // Two sockets of one user: both see the reply; mark_read on one reaches the
  // other as read_updated; cancel ends a reply for both; focus brings
  // agent_presence when the agent leaves.
  async flow() {
    const a = client();
    const b = client();
    const events: string[] = [];
    b.on("event", (e) => events.push(e.type));
    const synced = Promise.all([a, b].map((c) => new Promise((r) => c.on("sync", r))));
    a.connect();
    b.connect();
    await synced;
    const ack = await a.send(conv, "erzähl");
    const replyId = ack.replies?.[0]?.messageId ?? "";
    const [endA, endB] = await Promise.all([a, b].map((c) => until(c, (s) => s.messageId === replyId && s.status !== "streaming")));
    emit("first", { a: endA!.content, b: endB!.content, status: endA!.status });
    const read = new Promise((resolve) => b.on("event", (e) => e.type === "read_updated" && resolve(e.data)));
    a.markRead(conv, ack.message.seq + 1);
    emit("read", { data: await read, unread: b.conversations.get(conv)?.unreadCount ?? null });
    // "slow" makes the test's agent stream until cancelled.
    const slow = await a.send(conv, "slow");
    const slowId = slow.replies?.[0]?.messageId ?? "";
    await until(a, (s) => s.messageId === slowId && s.bytes > 0);
    a.cancel(slowId);
    const [cA, cB] = await Promise.all([a, b].map((c) => until(c, (s) => s.messageId === slowId && s.status !== "streaming")));
    emit("cancelled", { a: cA!.status, b: cB!.status, content: cA!.content });
    const presence = new Promise((resolve) => a.on("presence", (p) => p.conversationId === conv && resolve(p)));
    a.focus(conv);
    emit("focused", { events });
    emit("presence", { presence: await presence });
    a.close();
    b.close();
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
  emit("failed", { err: String(err), stack: (err as Error).stack });
  process.exit(1);
}
