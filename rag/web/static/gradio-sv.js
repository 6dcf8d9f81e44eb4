// Gradio's own strings in Swedish on every page, whatever the browser's language (see rag/web/gradio_sv.py).
// Loaded first in <head>, before Gradio's module scripts: Gradio picks its language from navigator.language, and
// a few of its labels are not translatable at all, so they are rewritten here as they appear.
(() => {
  "use strict";
  const nav = Navigator.prototype;
  Object.defineProperty(nav, "language", { configurable: true, get: () => "sv-SE" });
  Object.defineProperty(nav, "languages", { configurable: true, get: () => ["sv-SE", "sv"] });

  const LABELS = {
    "Code input container": "Kodruta",
    "Copy": "Kopiera",
    "Copied": "Kopierat",
    "Copy table data": "Kopiera tabellen",
    "Download": "Ladda ner",
    "Exit fullscreen": "Avsluta helskärm",
    "File upload": "Ladda upp fil",
    "Fullscreen": "Helskärm",
    "More tabs": "Fler flikar",
    "Open cell menu": "Öppna cellmenyn",
    "Table actions": "Tabellåtgärder",
    "Unfold line": "Fäll ut raden",
    "Fold line": "Fäll ihop raden",
    "chatbot conversation": "Samtal",
  };
  const PREFIXES = [
    ["bot's message: ", "Assistentens svar: "],
    ["user's message: ", "Ditt meddelande: "],
  ];
  const TEXTS = { "processing": "bearbetar", "common.complete": "Klart" };
  const ATTRS = ["aria-label", "title", "placeholder"];

  function translate(value) {
    if (Object.prototype.hasOwnProperty.call(LABELS, value)) return LABELS[value];
    for (const [en, sv] of PREFIXES) {
      // the label repeats the message's Markdown source: read it without the backslashes that keep it text
      if (value.startsWith(en)) return sv + value.slice(en.length).replace(/\\([\\`*_<>[\]!&$~#+\-=.)])/g, "$1");
    }
    return null;
  }

  function fixElement(el) {
    for (const attr of ATTRS) {
      const value = el.getAttribute(attr);
      if (value) {
        const sv = translate(value);
        if (sv !== null && sv !== value) el.setAttribute(attr, sv);
      }
    }
  }

  function fixText(node) {
    const text = node.nodeValue;
    const word = text.trim().split(" ")[0];
    if (Object.prototype.hasOwnProperty.call(TEXTS, word)) node.nodeValue = text.replace(word, TEXTS[word]);
  }

  function fixTree(root) {
    if (root.nodeType === Node.TEXT_NODE) return fixText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    fixElement(root);
    for (const el of root.querySelectorAll("[aria-label],[title],[placeholder]")) fixElement(el);
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) fixText(n);
  }

  new MutationObserver((mutations) => {
    for (const m of mutations) {
      if (m.type === "attributes") fixElement(m.target);
      else if (m.type === "characterData") fixText(m.target);
      else m.addedNodes.forEach(fixTree);
    }
  }).observe(document.documentElement, {
    subtree: true,
    childList: true,
    characterData: true,
    attributes: true,
    attributeFilter: ATTRS,
  });
})();
