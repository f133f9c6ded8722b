// Switch the language as soon as one is chosen (no inline handler: the CSP allows no inline script).
document.querySelectorAll("select[data-submit-on-change]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
