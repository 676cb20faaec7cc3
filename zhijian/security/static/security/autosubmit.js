// Content-Security-Policy forbids inline handlers: <select data-autosubmit> submits its form on change.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el && el.matches && el.matches("[data-autosubmit]") && el.form) { el.form.submit(); }
});
