// Typeset every maths element the katex_math extension wrote (TeX as text) with KaTeX, in place.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".math").forEach((element) => {
    const target = element.querySelector(":scope > .tex") || element;
    katex.render(target.textContent, target, {
      displayMode: element.tagName === "DIV",
      throwOnError: false,  // an unsupported command is shown in red, never breaks the page
    });
  });
});
