() => {
  // Each visible text's colour and the background it is drawn on, as Chromium computes them (test_web_contrast.py).
  const out = [];
  const rgba = (s) => { const m = s.match(/rgba?\(([^)]+)\)/); if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; };
  const over = (top, under) => { const a = top[3]; return [0, 1, 2].map(i => top[i] * a + under[i] * (1 - a)).concat([1]); };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) { const c = rgba(getComputedStyle(e).backgroundColor); if (c[3] > 0) layers.push(c); if (c[3] >= 1) break; }
    let colour = [255, 255, 255, 1];  // the canvas, under everything
    for (const layer of layers.reverse()) colour = over(layer, colour);
    return colour;
  };
  const visible = (el) => { const s = getComputedStyle(el); const r = el.getBoundingClientRect();
    return s.visibility !== "hidden" && s.display !== "none" && r.width > 0 && r.height > 0 && parseFloat(s.opacity) > 0; };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const add = (el, text) => {
    if (seen.has(el) || !visible(el)) return; seen.add(el);
    const s = getComputedStyle(el);
    const bg = background(el);
    out.push({text: text.trim().slice(0, 60), tag: el.tagName.toLowerCase(), id: el.id, cls: el.className && el.className.baseVal === undefined ? el.className : "",
              fg: over(rgba(s.color), bg), bg: bg, size: parseFloat(s.fontSize), weight: parseInt(s.fontWeight, 10)});
  };
  while (walker.nextNode()) { const n = walker.currentNode; if (n.textContent.trim() && n.parentElement && !n.parentElement.closest("svg, script, style, noscript")) add(n.parentElement, n.textContent); }
  for (const el of document.querySelectorAll("input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, textarea, button")) add(el, el.value || el.textContent || el.placeholder || "(control)");
  return out;
}
