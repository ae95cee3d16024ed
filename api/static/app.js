// Small enhancements only: every page works the same without this script.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Inbox: one box to tick every case on the page.
  for (const all of document.querySelectorAll("input.select-all")) {
    all.hidden = false;
    const form = all.closest("form");
    all.addEventListener("change", () => {
      for (const box of form.querySelectorAll('input[name="item"]')) box.checked = all.checked;
    });
  }
  // Decisions that end a case ask once more.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
  // A second click while the first submission is on its way does nothing.
  for (const form of document.querySelectorAll('form[method="post"]')) {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      for (const button of form.querySelectorAll('button[type="submit"]')) button.disabled = true;
    });
  }
});

// Coming back with the browser's back button shows the page as it was left: usable again.
window.addEventListener("pageshow", () => {
  for (const button of document.querySelectorAll('button[type="submit"]')) button.disabled = false;
});

// Inbox at phone width: the table's header row (with its select-all box) folds away, so a
// 全选 bar above the cards stands in. All the select-all boxes of a form and the boxes they
// tick stay in agreement.
document.addEventListener("DOMContentLoaded", () => {
  for (const bar of document.querySelectorAll(".pick-all[hidden]")) bar.hidden = false;
  for (const form of document.querySelectorAll("form")) {
    const alls = [...form.querySelectorAll("input.select-all")];
    if (!alls.length) continue;
    for (const all of alls) {
      all.addEventListener("change", () => {
        for (const other of alls) other.checked = all.checked;
      });
    }
    form.addEventListener("change", (event) => {
      if (event.target.name !== "item") return;
      const boxes = [...form.querySelectorAll('input[name="item"]')];
      const every = boxes.length > 0 && boxes.every((box) => box.checked);
      for (const all of alls) all.checked = every;
    });
  }
});
