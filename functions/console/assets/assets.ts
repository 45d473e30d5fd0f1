/**
 * The console's only stylesheet and script, served from its own origin (the CSP allows nothing
 * inline). Kept as modules, not files, so the bundled function carries them.
 */
export const consoleStyles = `
:root{--fg:#1b1f24;--muted:#4d5560;--bg:#fff;--line:#d0d7de;--accent:#0a58ca;--crit:#8b0000;--high:#b34700;--med:#7a5a00;--low:#225a8c;--info:#4d5560}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus,textarea:focus,tr:focus{outline:3px solid #ffbf47;outline-offset:1px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.top{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:8px 16px;border-bottom:1px solid var(--line);background:#f6f8fa}
.brand{font-weight:700}
.top nav a{margin-right:12px}.top nav a[aria-current=page]{font-weight:700;text-decoration:none;border-bottom:2px solid var(--accent)}
.who{margin-left:auto;display:flex;gap:8px;align-items:center;color:var(--muted)}
main{padding:16px;max-width:1280px;margin:0 auto}
h1{font-size:1.6rem;margin:.2em 0 .5em}h2{font-size:1.2rem}
button,.button{font:inherit;padding:6px 14px;border:1px solid var(--accent);background:var(--accent);color:#fff;border-radius:4px;cursor:pointer;text-decoration:none;display:inline-block}
.who button{background:#fff;color:var(--accent)}
input,select,textarea{font:inherit;padding:4px 6px;border:1px solid #6e7781;border-radius:4px;max-width:100%}
label{display:block;margin:4px 0}
.filters .fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:4px 16px}
.choices{display:flex;flex-wrap:wrap;gap:4px 12px;border:1px solid var(--line);border-radius:4px}
.choices label{display:inline-flex;gap:4px;align-items:center}
.scroll{overflow-x:auto}
table.queue{border-collapse:collapse;width:100%}
.queue th,.queue td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
.queue tr.current{background:#eef4ff}
.sev{font-weight:700;text-transform:uppercase;font-size:.8rem;letter-spacing:.03em}
.sev-critical{color:var(--crit)}.sev-high{color:var(--high)}.sev-medium{color:var(--med)}.sev-low{color:var(--low)}.sev-info{color:var(--info)}
.overdue{color:var(--crit);font-weight:700}
.notice{padding:8px 12px;border-radius:4px;border:1px solid var(--line)}
.notice.error{border-color:var(--crit);background:#fff0f0}.notice.success{border-color:#1a7f37;background:#effaf1}
.columns{display:grid;grid-template-columns:3fr 2fr;gap:24px}
.fields-list{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px}.fields-list dt{font-weight:600}.fields-list dd{margin:0;overflow-wrap:anywhere}
.description{white-space:pre-wrap;overflow-wrap:anywhere;background:#f6f8fa;padding:8px;border-radius:4px;font:inherit}
.timeline{padding-left:20px}.timeline li{margin-bottom:8px;overflow-wrap:anywhere}
.triage{border:1px solid var(--line);padding:12px;border-radius:4px}
.hint{color:var(--muted);font-size:.9rem;margin:0}
.bulk{display:flex;flex-wrap:wrap;gap:8px 16px;align-items:flex-end;margin-top:12px;border:1px solid var(--line);border-radius:4px}
.tiles{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(150px,1fr));gap:12px}
.tiles a{display:block;padding:12px;border:1px solid var(--line);border-radius:6px;text-decoration:none;color:var(--fg)}
.tiles strong{display:block;font-size:1.8rem}
table.figures{border-collapse:collapse}.figures th,.figures td{text-align:left;padding:4px 10px;border-bottom:1px solid var(--line);white-space:nowrap}
.trend .num{display:inline-block;min-width:2.5em;text-align:right}.bar{vertical-align:middle}.bar-opened{fill:var(--high)}.bar-resolved{fill:#1a7f37}
.counts{display:grid;grid-template-columns:max-content 4rem;gap:2px 12px}.counts dd{margin:0;text-align:right}
progress{width:min(400px,100%)}
.pages{margin-top:12px;display:flex;gap:16px}
.empty{color:var(--muted)}
kbd{border:1px solid var(--line);border-radius:3px;padding:0 4px;font-size:.85rem}
@media (max-width:700px){.columns{grid-template-columns:1fr}.who{margin-left:0}main{padding:12px}.queue td:nth-child(n+6),.queue th:nth-child(n+6){display:none}}
`

/**
 * Progressive enhancement only: every page works without it. Keyboard navigation of the queue
 * (j/k, Enter, x), and the reason field marked required for the statuses that need one.
 */
export const consoleScript = `
(function(){
'use strict';
var rows=[].slice.call(document.querySelectorAll('table.queue tbody tr'));
var at=-1;
function go(i){if(!rows.length)return;at=Math.max(0,Math.min(rows.length-1,i));rows.forEach(function(r,n){r.classList.toggle('current',n===at)});var link=rows[at].querySelector('a');if(link)link.focus()}
document.addEventListener('keydown',function(e){
var t=e.target&&e.target.tagName;if(t==='INPUT'||t==='SELECT'||t==='TEXTAREA'||e.ctrlKey||e.metaKey||e.altKey)return;
if(e.key==='j'){go(at+1);e.preventDefault()}else if(e.key==='k'){go(at-1);e.preventDefault()}
else if(e.key==='x'&&at>=0){var box=rows[at].querySelector('input[type=checkbox]');if(box){box.checked=!box.checked;e.preventDefault()}}
});
var status=document.getElementById('status');
if(status){var reason=document.querySelector('textarea[name=statusReason]');var need=['false_positive','not_affected','accepted_risk','duplicate'];
var sync=function(){if(reason)reason.required=need.indexOf(status.value)>=0};status.addEventListener('change',sync);sync()}
})();
`
