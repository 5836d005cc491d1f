// Times are stored and sent in UTC; show each one in the viewer's own zone beside the UTC value.
for (const el of document.querySelectorAll("time[data-local]")) {
  const d = new Date(el.getAttribute("datetime"));
  if (isNaN(d)) continue;
  const local = d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short"});
  const span = document.createElement("span");
  span.className = "local";
  span.textContent = "(" + local + ")";
  el.appendChild(span);
  el.title = d.toString();
}
