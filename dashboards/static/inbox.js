// The inbox's keys: j moves to the next item, k to the previous one (the item gets focus and scrolls into
// view). Keys typed into a field or a list box are left alone, and so are shortcuts with modifiers.
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.key !== "j" && event.key !== "k") return;
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const target = event.target;
  if (target instanceof Element && target.closest("input, select, textarea, [contenteditable]")) return;
  const items = Array.from(document.querySelectorAll("[data-inbox-item]"));
  if (items.length === 0) return;
  const active = document.activeElement instanceof Element ? document.activeElement.closest("[data-inbox-item]") : null;
  const at = items.indexOf(active);
  const next = event.key === "j" ? Math.min(at + 1, items.length - 1) : Math.max(at - 1, 0);
  event.preventDefault();
  items[next].focus();
  items[next].scrollIntoView({ block: "nearest" });
});
