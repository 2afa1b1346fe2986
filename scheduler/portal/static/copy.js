// Copy-to-clipboard for the feed address: the only script of the portal (the page works without it).
document.querySelectorAll("button.copy").forEach(function (button) {
  button.hidden = false;
  button.addEventListener("click", function () {
    var field = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(field.value).then(function () { button.textContent = button.dataset.copied; });
  });
});
