// Progress on slow calls: a submitted form's button is disabled and says so, and the page is
// marked busy for assistive technology, until the next page arrives. Pages work without it.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const button = form.querySelector('button[type="submit"]');
  if (button) {
    // Disabled after the submit is under way, so the button's own value still goes.
    setTimeout(() => {
      button.disabled = true;
      button.dataset.label = button.textContent;
      button.textContent = "Working…";
    }, 0);
  }
  document.getElementById("main")?.setAttribute("aria-busy", "true");
});
