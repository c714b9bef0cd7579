// veille — small progressive enhancements; every page works without them.
document.addEventListener("DOMContentLoaded", () => {
  // Move focus to the error summary so screen reader and keyboard users hear what to fix.
  const summary = document.querySelector(".error-summary");
  if (summary) summary.focus();
});
