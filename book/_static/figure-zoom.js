// Figures readers can enlarge: click a figure (or focus it with Tab and press Enter or Space) to see it in a
// full-window dialog at up to twice its natural size, scrollable on a phone; Escape, the button or a click closes.
document.addEventListener("DOMContentLoaded", () => {
  const figures = document.querySelectorAll("main figure img, main .cell_output img");
  if (!figures.length) return;
  const dialog = document.createElement("dialog");
  dialog.className = "figure-zoom";
  dialog.setAttribute("aria-label", "Enlarged figure");
  const close = document.createElement("button");
  close.type = "button";
  close.className = "figure-zoom-close";
  close.textContent = "Close (Esc)";
  const large = document.createElement("img");
  dialog.append(close, large);
  document.body.appendChild(dialog);
  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (event) => { if (event.target !== close) dialog.close(); });

  const open = (image) => {
    large.src = image.currentSrc || image.src;
    large.alt = image.alt;
    // Fill the window on a laptop; on a phone, show it at its natural width and let the reader pan.
    const natural = image.naturalWidth || image.width;
    large.style.width = `${Math.round(Math.min(2 * natural, Math.max(0.96 * window.innerWidth, natural)))}px`;
    dialog.showModal();
    close.focus();
  };
  figures.forEach((image) => {
    image.classList.add("zoomable");
    image.tabIndex = 0;
    image.setAttribute("role", "button");
    image.setAttribute("aria-haspopup", "dialog");
    image.setAttribute("aria-label", `Enlarge figure: ${image.alt}`);
    image.addEventListener("click", () => open(image));
    image.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        open(image);
      }
    });
  });
});
