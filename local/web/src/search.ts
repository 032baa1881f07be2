// Message search (GET /api/messages/search): results best first, each a
// button that opens its conversation at that message.
import type { Message } from "../../../relay/client-js/src/index.js";
import { api, el, type Page } from "./api.js";

interface SearchHit { message: Message; snippet: string; rank: number }

const ui = {
  form: el<HTMLFormElement>("search-form"), q: el<HTMLInputElement>("search"),
  status: el("search-status"), results: el<HTMLUListElement>("search-results"),
};

/**
 * snippet turns the server's snippet (escaped text, matches in <mark>) into
 * nodes: text and <mark> only, whatever the string holds.
 */
function snippet(html: string): Node[] {
  const doc = new DOMParser().parseFromString(`<body>${html}</body>`, "text/html");
  return [...doc.body.childNodes].map((n) => {
    if (n.nodeName !== "MARK") return document.createTextNode(n.textContent ?? "");
    const m = document.createElement("mark");
    m.textContent = n.textContent;
    return m;
  });
}

/** setupSearch wires the search form; openAt opens a conversation at a message. */
export function setupSearch(openAt: (conversationId: string, messageId: string, seq: number) => Promise<void>): void {
  ui.form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = ui.q.value.trim();
    if (q === "") return;
    ui.status.textContent = "Searching…";
    try {
      const page = await api<Page<SearchHit>>("GET", `/api/messages/search?limit=20&q=${encodeURIComponent(q)}`);
      ui.status.textContent = page.items.length === 0 ? "No messages found." : `${page.items.length} found${page.nextCursor ? " (the best 20)" : ""}.`;
      ui.results.replaceChildren(...page.items.map((h) => {
        const li = document.createElement("li");
        const b = document.createElement("button");
        b.type = "button";
        b.append(...snippet(h.snippet));
        b.addEventListener("click", () => void openAt(h.message.conversationId, h.message.id, h.message.seq));
        li.append(b);
        return li;
      }));
    } catch (err) {
      ui.status.textContent = (err as Error).message;
    }
  });
}
