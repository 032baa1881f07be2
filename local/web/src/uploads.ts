// Files on a message through the presigned flow (functions/uploads):
// POST /api/uploads/presign, PUT the bytes to the link with its headers,
// POST /api/uploads/{id}/complete; the ready ids go with the send.
// With local storage the link is this origin's /files/ (connect-src
// 'self'); a host whose links point at S3 or R2 must add that origin to the
// CSP's connect-src.
import { api } from "./api.js";

export interface Attachment { id: string; name: string; contentType: string; size: number; status: string; url?: string }
interface Presigned { attachmentId: string; upload: { method: "PUT"; url: string; headers: Record<string, string> } }

/** Headers a page may not set itself; the browser sends them right. */
const FORBIDDEN = new Set(["content-length", "host", "connection"]);

/** upload stores one file and returns it ready to attach. */
export async function upload(file: File): Promise<Attachment> {
  const p = await api<Presigned>("POST", "/api/uploads/presign", {
    name: file.name, contentType: file.type || "application/octet-stream", size: file.size,
  });
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(p.upload.headers)) if (!FORBIDDEN.has(k.toLowerCase())) headers[k] = v;
  const r = await fetch(p.upload.url, { method: p.upload.method, headers, body: file, credentials: "omit" });
  await r.arrayBuffer().catch(() => null);
  if (!r.ok) throw new Error(`${file.name}: the upload failed (${r.status})`);
  return (await api<{ attachment: Attachment }>("POST", `/api/uploads/${p.attachmentId}/complete`)).attachment;
}

/** attachmentList is a message's files as links. */
export function attachmentList(files: Attachment[]): HTMLUListElement | null {
  if (files.length === 0) return null;
  const ul = document.createElement("ul");
  ul.className = "attachments";
  ul.setAttribute("aria-label", "Attachments");
  for (const f of files) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.textContent = `${f.name} (${f.size < 1024 ? `${f.size} bytes` : `${Math.round(f.size / 1024)} KB`})`;
    if (f.url) {
      a.href = f.url;
      a.target = "_blank";
      a.rel = "noopener noreferrer";
    }
    li.append(a);
    ul.append(li);
  }
  return ul;
}
