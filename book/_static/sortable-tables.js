// Tables with class "sortable": each column header becomes a button (click, or Tab then Enter or Space) that
// sorts the rows by that column, numbers by value ("3/35 = 9% (2–23%)" by its 9); the header's aria-sort says
// which column orders the table and in which direction.
document.addEventListener("DOMContentLoaded", () => {
  const key = (row, column) => {
    const text = row.cells[column].innerText.trim();
    const percent = text.match(/-?\d+(\.\d+)?(?=%)/);
    if (percent) return parseFloat(percent[0]);
    return /^-?\d+(\.\d+)?$/.test(text) ? parseFloat(text) : text.toLowerCase();
  };
  document.querySelectorAll("table.sortable").forEach((table) => {
    const headers = [...table.querySelectorAll("thead th")];
    headers.forEach((header, column) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      button.title = "Sort by this column";
      button.append(...header.childNodes);
      header.appendChild(button);
      header.setAttribute("aria-sort", "none");
      header.addEventListener("click", () => {  // the whole header cell; the button carries keyboard focus
        const ascending = header.getAttribute("aria-sort") !== "ascending";
        headers.forEach((other) => other.setAttribute("aria-sort", "none"));
        header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const body = table.tBodies[0];
        [...body.rows]
          .sort((a, b) => {
            const [x, y] = [key(a, column), key(b, column)];
            return (x > y ? 1 : x < y ? -1 : 0) * (ascending ? 1 : -1);
          })
          .forEach((row) => body.appendChild(row));
      });
    });
  });
});
