// Assembling a reply's text from stream_chunk frames by byte offset
// (PROTOCOL.md section 11). Offsets count UTF-8 bytes; string.length counts
// UTF-16 units, so byte lengths are kept alongside the text.
import type { ReplyStatus, StreamEndFrame } from "./protocol.js";

export type StreamStatusName = "streaming" | StreamEndFrame["status"];

/** One reply as the client holds it. */
export interface StreamState {
  messageId: string;
  conversationId: string;
  agentId?: string;
  seq?: number;
  replyToId?: string;
  version?: number;
  previousId?: string;
  /** The text so far; after stream_end, the saved text. */
  content: string;
  /** content's UTF-8 byte length (the `have` of section 11). */
  bytes: number;
  status: StreamStatusName;
  error?: { code: string; message: string };
  /** The agent's latest stream_status while streaming. */
  agentStatus?: ReplyStatus;
  /**
   * True when the reply was streaming before a reconnect and the relay no
   * longer lists it: it ended while the socket was away. Its final text comes
   * as a message_new event or from REST (the conversation's lastSeq moved).
   */
  endedWhileAway?: boolean;
}

/** utf8Length is the UTF-8 byte length of s. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** skipBytes returns the UTF-16 index in s after its first `bytes` UTF-8 bytes (a code point boundary). */
export function skipBytes(s: string, bytes: number): number {
  let n = 0;
  let i = 0;
  while (i < s.length && n < bytes) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
    i++;
  }
  return i;
}

export type ChunkResult = "applied" | "duplicate" | "gap" | "ended";

/** What applyChunk and applyResume need of a reply: a conversation's (StreamState) or a channel's (ChannelStreamState). */
export type Assembling = Pick<StreamState, "content" | "bytes" | "status">;

/** One agent reply in a community channel (section 18) as the client holds it. */
export interface ChannelStreamState {
  messageId: string;
  channelId: string;
  agentId?: string;
  replyToId?: string;
  chainHop?: number;
  chainRootId?: string;
  /** The text so far; after channel_stream_end, the saved text. */
  content: string;
  /** content's UTF-8 byte length. */
  bytes: number;
  status: StreamStatusName;
  /** The saved channel message's seq (channel_stream_end; 0 when nothing was saved). */
  seq?: number;
  error?: { code: string; message: string };
  /** The agent's latest channel_stream_status while streaming. */
  agentStatus?: ReplyStatus;
  /**
   * True when the reply was streaming before the channel was subscribed
   * again (a reconnect, an interrupted subscription) and channel_subscribed
   * no longer shows it: it ended meanwhile (`status` stays "streaming"); its
   * final text is in the channel's history past the lastSeq held (a message
   * with this id, when it had text).
   */
  endedWhileAway?: boolean;
}

/**
 * applyChunk applies one stream_chunk to a reply by the rule of section 11:
 * drop what is already held, append the part past it, report a gap (the
 * caller syncs again). Chunks after stream_end are ignored.
 */
export function applyChunk(s: Assembling, offset: number, delta: string): ChunkResult {
  if (s.status !== "streaming") return "ended";
  const n = utf8Length(delta);
  if (offset + n <= s.bytes) return "duplicate";
  if (offset > s.bytes) return "gap";
  s.content += offset === s.bytes ? delta : delta.slice(skipBytes(delta, s.bytes - offset));
  s.bytes = offset + n;
  return "applied";
}

/** applyResume takes a sync_result's text so far when it is ahead of what is held. */
export function applyResume(s: Assembling, content: string, offset: number): void {
  if (s.status !== "streaming" || offset < s.bytes) return;
  s.content = content;
  s.bytes = offset;
}
