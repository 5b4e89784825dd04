// Filtering without reloading: any change to the search form fetches the same page's results
// (partial=1) and swaps them in; the address bar follows, so the search stays shareable.
// Without JavaScript the form submits as an ordinary GET.
(function () {
  "use strict";
  const holder = document.getElementById("search");
  if (!holder) return;
  let latest = 0;

  function query(form) {
    const params = new URLSearchParams(new FormData(form));
    for (const [key, value] of [...params.entries()]) {
      if (value === "") params.delete(key);
    }
    return params;
  }

  async function refresh(form) {
    const params = query(form);
    const ticket = ++latest;
    const shown = holder.dataset.partialUrl + (params.toString() ? "?" + params : "");
    params.set("partial", "1");
    holder.setAttribute("aria-busy", "true");
    try {
      const response = await fetch(holder.dataset.partialUrl + "?" + params, {
        headers: { Accept: "text/html" },
      });
      if (ticket !== latest) return; // a newer change is on its way
      if (!response.ok) {
        form.submit(); // let the server page explain the problem
        return;
      }
      const focused = document.activeElement && document.activeElement.id;
      holder.innerHTML = await response.text();
      history.replaceState(null, "", shown);
      if (focused) {
        const again = document.getElementById(focused);
        if (again) again.focus();
      }
    } finally {
      if (ticket === latest) holder.removeAttribute("aria-busy");
    }
  }

  let timer = 0;
  holder.addEventListener("change", (event) => {
    const form = event.target.form;
    if (form && form.id === "search-form") refresh(form);
  });
  holder.addEventListener("input", (event) => {
    const form = event.target.form;
    if (!form || form.id !== "search-form" || event.target.type === "checkbox") return;
    clearTimeout(timer);
    timer = setTimeout(() => refresh(form), 300);
  });
})();
