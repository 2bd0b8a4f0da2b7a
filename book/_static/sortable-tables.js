// Click a header of a table with class "sortable" to sort by that column (numbers by value).
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.sortable").forEach((table) => {
    table.querySelectorAll("thead th").forEach((header, column) => {
      header.style.cursor = "pointer";
      header.title = "Sort by this column";
      header.addEventListener("click", () => {
        const ascending = header.dataset.order !== "asc";
        header.dataset.order = ascending ? "asc" : "desc";
        const key = (row) => {
          const text = row.cells[column].innerText.trim();
          const percent = text.match(/-?\d+(\.\d+)?(?=%)/);  // "3/35 = 9% (2–23%)" sorts by 9
          if (percent) return parseFloat(percent[0]);
          return /^-?\d+(\.\d+)?$/.test(text) ? parseFloat(text) : text.toLowerCase();
        };
        const body = table.tBodies[0];
        [...body.rows]
          .sort((a, b) => (key(a) > key(b) ? 1 : key(a) < key(b) ? -1 : 0) * (ascending ? 1 : -1))
          .forEach((row) => body.appendChild(row));
      });
    });
  });
});
