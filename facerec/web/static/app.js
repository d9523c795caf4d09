// facerec's page: a little plain JavaScript, no library. Everything works
// without it too (forms post, pages reload); it only makes three things nicer.
"use strict";

// 1. Merging: show how many cards are selected; the button needs two.
function setUpMerge() {
  const form = document.getElementById("merge-form");
  if (!form) return;
  const boxes = () => Array.from(document.querySelectorAll('input[type=checkbox][form="merge-form"]'));
  const label = document.getElementById("merge-count");
  const button = document.getElementById("merge");
  const update = () => {
    const n = boxes().filter((b) => b.checked).length;
    button.disabled = n < 2;
    label.textContent = n === 0 ? "Select cards to merge them into one person." : `${n} selected`;
    button.textContent = n < 2 ? "Merge selected" : `Merge ${n} cards`;
  };
  boxes().forEach((b) => b.addEventListener("change", update));
  update();
}

// 2. Search by photo: drop a photo anywhere on the drop zone to upload it.
function setUpDrop() {
  const zone = document.getElementById("drop");
  const input = document.getElementById("photo");
  const form = document.getElementById("upload-form");
  if (!zone || !input || !form) return;
  ["dragenter", "dragover"].forEach((t) => zone.addEventListener(t, (e) => { e.preventDefault(); zone.classList.add("over"); }));
  ["dragleave", "drop"].forEach((t) => zone.addEventListener(t, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      form.requestSubmit();
    }
  });
  input.addEventListener("change", () => { if (input.files.length) form.requestSubmit(); });
}

// 3. Library: live progress of an index run (GET only: reading never changes anything).
function setUpIndexProgress() {
  const section = document.getElementById("index-job");
  if (!section || section.dataset.state !== "running") return;
  const bar = document.getElementById("index-progress");
  const text = document.getElementById("index-text");
  const tick = async () => {
    let s;
    try {
      const r = await fetch("/library/index/status", { credentials: "same-origin", cache: "no-store" });
      if (!r.ok) return;
      s = await r.json();
    } catch (err) {
      return setTimeout(tick, 2000);
    }
    bar.max = s.total || 1;
    bar.value = s.done;
    text.textContent = `${s.folder}: ${s.state}, ${s.message} (${s.done}/${s.total} photos, ${s.faces} faces)`;
    section.dataset.state = s.state;
    if (s.state === "running") setTimeout(tick, 500);
    else location.reload();  // new counts and folders
  };
  setTimeout(tick, 300);
}

document.addEventListener("DOMContentLoaded", () => {
  setUpMerge();
  setUpDrop();
  setUpIndexProgress();
});
