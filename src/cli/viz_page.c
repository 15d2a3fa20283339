/* SPDX-License-Identifier: MIT */
/*
 * The style and script of charnn viz's page (src/cli/viz.c writes the text
 * and the numbers around them). Plain CSS and JavaScript that any current
 * browser runs from a file, with nothing loaded from elsewhere.
 *
 * The numbers arrive as JSON in <script id="data">: n characters, their
 * predictions (p, top guesses), and per layer l and quantity q (h, c or a
 * gate) a block of H x n activations quantized to 2^bits levels over [lo,
 * hi], unit-major, packed as viz_pack.c describes, in <script id="bK">
 * (K = l Q + q); a block is decoded the first time one of its units is
 * shown. The address's fragment #l1.h.37 shows unit 37 of layer 1's h at
 * once (every tinted character then also carries its value in data-v,
 * which the tests read), #c42 points at character 42, #l1.h.37,c42 both.
 */
#include "viz.h"

#include <stddef.h>

const char *const viz_style[] = {
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#222;",
    "background:#fafafa}\n",
    "header{padding:14px 20px 4px}h1{font-size:19px;margin:0 0 4px}\n",
    "header p{margin:2px 0;color:#555}\n",
    "#controls,#worth{padding:6px 20px;display:flex;flex-wrap:wrap;gap:6px 14px;",
    "align-items:center}\n",
    /* the controls stay in view over a long text */
    "#controls{position:sticky;top:0;z-index:3;background:#fafafa;",
    "border-bottom:1px solid #e2e2e2;box-shadow:0 1px 3px rgba(0,0,0,.06)}\n",
    "#keys{color:#777;font-size:13px}#keys kbd{font:inherit;border:1px solid #ccc;",
    "border-radius:3px;padding:0 3px;background:#fff}\n",
    "#controls select,#controls input,#controls button{font:inherit}\n",
    "#controls input[type=number]{width:5.5em}\n",
    "#legend{display:inline-flex;flex-wrap:wrap;align-items:center;gap:6px;color:#555}\n",
    "#legend i{display:inline-block;width:160px;height:12px;border:1px solid #ccc}\n",
    "#legend .sw{display:inline-block;min-width:1.7em;text-align:center;font-size:12px;",
    "border:1px solid #ddd;color:#222}\n",
    "#worth{display:block;font-size:14px;color:#444}#worth b{font-weight:600}\n",
    "#worth>span{display:block;margin:3px 0 0 12px}\n",
    "#worth button{font:inherit;font-size:13px;border:1px solid #bbb;background:#fff;",
    "border-radius:4px;padding:1px 6px;cursor:pointer}\n",
    "#worth button:hover{background:#eef}\n",
    "#text{margin:8px 20px 40px;padding:14px 16px;background:#fff;border:1px solid #ddd;",
    "border-radius:6px;font:15px/1.6 ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',",
    "monospace;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext;",
    "text-align:start}\n",
    "#text span{border-radius:2px}\n",
    /* a newline wide enough to show its tint (a gate closing at a line's end) */
    "#text span.nl::before{content:'\\21b5';color:#b4b4b4;display:inline-block;width:2.5ch;",
    "text-align:center}\n",
    /* an invisible or formatting character: its name in a box, isolated so
       that nothing in it or around it is reordered */
    "#text span.cc{unicode-bidi:isolate;direction:ltr;font-size:70%;padding:0 2px;",
    "margin:0 1px;border:1px solid #aaa;border-radius:3px;color:#555;vertical-align:1px}\n",
    /* Persian's half-space, the zero-width non-joiner: a narrow mark */
    "#text span.zw{display:inline-block;width:.25em;height:1.2em;vertical-align:-.25em;",
    "border-left:1px dotted #bbb}\n",
    "#text span.on{outline:1px solid #333}\n",
    "#tip{position:absolute;z-index:4;background:#fff;border:1px solid #999;",
    "border-radius:6px;padding:8px 10px;box-shadow:0 2px 8px rgba(0,0,0,.18);",
    "font-size:13px;min-width:190px;pointer-events:none}\n",
    "#tip table{border-collapse:collapse;margin-top:4px}\n",
    "#tip td{padding:0 6px 0 0;white-space:nowrap}\n",
    "#tip td.c{font-family:ui-monospace,Menlo,Consolas,monospace;unicode-bidi:isolate}\n",
    "#tip .bar{display:inline-block;height:9px;background:#4a77b4;vertical-align:middle}\n",
    "#tip .hit{font-weight:700}\n",
    NULL};

const char *const viz_script[] = {
    "(function(){'use strict';\n",
    "var D=JSON.parse(document.getElementById('data').textContent);\n",
    "var box=document.getElementById('text'),spans=box.children,n=D.n,H=D.hidden;\n",
    "var chars=Array.from(D.text);\n", /* by code point, as the spans */
    "var tip=document.getElementById('tip'),$=function(id){return document.getElementById(id)};\n",
    /* a character as the tip shows it: an invisible one by its name */
    "function show(c){var k=c.codePointAt(0);if(D.names[k])return D.names[k];\n",
    " return c==='\\n'?'\\u21b5':c===' '?'\\u2423':c==='\\t'?'\\u21e5':",
    "k<32?String.fromCharCode(0x2400+k):k===127?'\\u2421':c}\n",
    "function esc(s){return s.replace(/&/g,'&amp;').replace(/</g,'&lt;')}\n",
    /* colours: surprise from white through yellow and orange to red over
       0..12 bits on a square-root scale, so that the common 0 to 4 bits
       take over half of it; tanh-range values blue (-1) white (0) red
       (+1); gates white (0) to green (1) */
    "function rgba(c,a){return 'rgba('+c+','+a.toFixed(3)+')'}\n",
    "var RED='214,39,40',BLUE='31,119,180',GREEN='44,160,44';\n",
    "var RAMP=[[255,255,255],[255,245,180],[254,215,120],[250,140,80],[245,100,70],[228,64,64]];\n",
    "function surpriseColour(bits){var s=Math.sqrt(Math.min(Math.max(bits,0),12)/12)*(RAMP.length-1),\n",
    " k=Math.min(Math.floor(s),RAMP.length-2),f=s-k,a=RAMP[k],b=RAMP[k+1];\n",
    " return 'rgb('+[0,1,2].map(function(i){return Math.round(a[i]+(b[i]-a[i])*f)}).join(',')+')'}\n",
    /* "layer 1, forget gate, unit 84" */
    "function label(l,q,u){return 'layer '+l+', '+D.quantities[q].label+', unit '+u}\n",
    "var palettes={};\n",
    "function palette(q,bits){var key=q.name+bits,top=(1<<bits)-1;if(palettes[key])return palettes[key];var p=[];\n",
    " for(var k=0;k<=top;k++){var v=q.lo+k*(q.hi-q.lo)/top;\n",
    "  p.push(q.lo<0?(v<0?rgba(BLUE,-v*0.85):rgba(RED,v*0.85)):rgba(GREEN,v*0.85))}\n",
    " return palettes[key]=p}\n",
    "var blocks=[];\n",
    /* block b's codes (H x n, unit-major): the page's text, 7 bits a
       character, back to bytes; then each unit's frequency table and the
       rANS stream (viz_pack.c) */
    "function block(b){if(blocks[b])return blocks[b];\n",
    " var s=document.getElementById('b'+b).textContent,size=D.blocks[b].bytes,raw=new Uint8Array(size);\n",
    " for(var i=0,k=0,acc=0,held=0;i<s.length&&k<size;i++){var c=s.charCodeAt(i);\n",
    "  acc=(acc<<7|(c>=256?c-256:c))&0x7fff;held+=7;if(held>=8){held-=8;raw[k++]=acc>>held&255}}\n",
    " return blocks[b]=unpack(raw,D.blocks[b].bits)}\n",
    "function unpack(raw,bits){var pos=0,f=[],cum=[],lookup=new Uint8Array(4096),u,k,t;\n",
    " for(u=0;u<H;u++){var first=raw[pos++],m=raw[pos++]+1,fu=new Uint16Array(1<<bits);\n",
    "  for(k=0;k<m;k++){var v=raw[pos++];if(v&128)v=(v&127)<<7|raw[pos++];fu[first+k]=v}\n",
    "  var cu=new Uint16Array((1<<bits)+1);for(k=0;k<1<<bits;k++)cu[k+1]=cu[k]+fu[k];f.push(fu);cum.push(cu)}\n",
    " var x=raw[pos]+raw[pos+1]*256+raw[pos+2]*65536+raw[pos+3]*16777216,out=new Uint8Array(H*n);pos+=4;\n",
    " for(u=0;u<H;u++){var fu2=f[u],cu2=cum[u];\n",
    "  for(k=0;k<1<<bits;k++)lookup.fill(k,cu2[k],cu2[k+1]);\n",
    "  for(t=0;t<n;t++){var slot=x&4095,sym=lookup[slot];out[u*n+t]=sym;\n",
    "   x=fu2[sym]*Math.floor(x/4096)+slot-cu2[sym];\n",
    "   while(x<8388608)x=x*256+raw[pos++]}}\n",
    " return out}\n",
    "var mode='surprise',sel={l:0,q:0,u:0};\n",
    "function blockOf(){return sel.l*D.quantities.length+sel.q}\n",
    "function values(){var q=D.quantities[sel.q],bits=D.blocks[blockOf()].bits,top=(1<<bits)-1,b=block(blockOf());\n",
    " var codes=b.subarray(sel.u*n,(sel.u+1)*n),out=new Float64Array(n);\n",
    " for(var j=0;j<n;j++)out[j]=j<D.have?q.lo+codes[j]*(q.hi-q.lo)/top:NaN;return out}\n",
    "var current=null;\n",
    "function paint(){var j;\n",
    " if(mode==='surprise'){current=null;\n",
    "  for(j=0;j<n;j++){var s=spans[j];s.style.backgroundColor=j?surpriseColour(-Math.log2(D.p[j])):'';",
    "s.removeAttribute('data-v')}\n",
    "  var lg='surprise, bits (-log\\u2082 p of the character):';\n",
    "  [0,1,2,3,4,6,8,12].forEach(function(b){lg+=' <span class=sw data-bits='+b+' style=\"background:'+",
    "surpriseColour(b)+'\">'+b+(b===12?'+':'')+'</span>'});\n",
    "  $('legend').innerHTML=lg+' (a square-root scale)';\n",
    "  return}\n",
    " var q=D.quantities[sel.q],bits=D.blocks[blockOf()].bits,pal=palette(q,bits),b=block(blockOf());\n",
    " var codes=b.subarray(sel.u*n,(sel.u+1)*n);current=values();\n",
    " for(j=0;j<n;j++){var sp=spans[j];if(j<D.have){sp.style.backgroundColor=pal[codes[j]];",
    "sp.setAttribute('data-v',current[j].toFixed(4))}else{sp.style.backgroundColor='';",
    "sp.removeAttribute('data-v')}}\n",
    " $('legend').innerHTML='<b>'+esc(label(sel.l,sel.q,sel.u))+':</b> '+q.lo+' <i style=\"background:linear-gradient(90deg,'+pal[0]+','+",
    "pal[pal.length>>1]+','+pal[pal.length-1]+')\"></i> '+q.hi+' &nbsp;'+esc(q.about)+' ('+pal.length+' levels)';\n",
    " try{history.replaceState(null,'','#l'+sel.l+'.'+q.name+'.'+sel.u)}catch(e){}}\n",
    "function choose(l,q,u){sel={l:l,q:q,u:Math.max(0,Math.min(H-1,u))};mode='unit';sync();paint()}\n",
    "function sync(){$('layer').value=sel.l;$('qty').value=sel.q;$('unit').value=sel.u;\n",
    " $('m-unit').checked=mode==='unit';$('m-surprise').checked=mode==='surprise'}\n",
    /* controls */
    "var c=$('controls'),h='<label><input type=radio name=mode id=m-surprise checked> surprise</label>'+\n",
    " '<label><input type=radio name=mode id=m-unit> a unit:</label> <select id=layer>';\n",
    "for(var l=0;l<D.layers;l++)h+='<option value='+l+'>layer '+l+'</option>';\n",
    "h+='</select> <select id=qty>';\n",
    "D.quantities.forEach(function(q,i){h+='<option value='+i+'>'+esc(q.name)+': '+esc(q.about)+'</option>'});\n",
    "h+='</select> unit <input id=unit type=number min=0 max='+(H-1)+' value=0> '+\n",
    " '<button id=prev title=\"previous unit\">&#9664;</button><button id=next title=\"next unit\">&#9654;</button>'+\n",
    " '<span id=legend></span><span id=keys>keys: <kbd>&larr;</kbd> <kbd>&rarr;</kbd> unit (with Shift, 10) '+\n",
    " '<kbd>[</kbd> <kbd>]</kbd> layer <kbd>Q</kbd> quantity <kbd>S</kbd> surprise <kbd>Esc</kbd> hide the tip</span>';\n",
    "c.innerHTML=h;\n",
    "$('m-surprise').onchange=function(){mode='surprise';paint()};\n",
    "$('m-unit').onchange=function(){mode='unit';paint()};\n",
    "$('layer').onchange=function(){choose(+this.value,sel.q,sel.u)};\n",
    "$('qty').onchange=function(){choose(sel.l,+this.value,sel.u)};\n",
    "$('unit').onchange=function(){choose(sel.l,sel.q,+this.value|0)};\n",
    "$('prev').onclick=function(){choose(sel.l,sel.q,sel.u-1)};\n",
    "$('next').onclick=function(){choose(sel.l,sel.q,sel.u+1)};\n",
    /* units worth a look */
    "var w='<b>Units worth a look</b> (correlation with a property of the text):';\n",
    "D.units.forEach(function(p){w+=' <span>'+esc(p.property)+':';\n",
    " if(!p.units.length)w+=' <i>'+esc(p.none)+'</i>';\n",
    " p.units.forEach(function(x){w+=' <button data-l='+x.l+' data-q='+x.q+' data-u='+x.u+'>'+",
    "esc(label(x.l,x.q,x.u))+' (r = '+x.r.toFixed(2)+')</button>'});w+='</span>'});\n",
    "$('worth').innerHTML=w;\n",
    "$('worth').onclick=function(e){var t=e.target.closest('button');if(t)",
    "choose(+t.dataset.l,+t.dataset.q,+t.dataset.u)};\n",
    /* the tip: the character's probability, the model's guesses, the unit */
    "function tipFor(j){var ch=chars[j],s='<b>'+esc(show(ch))+'</b>';\n",
    " if(j===0)s+=' &nbsp;the first character: no prediction';\n",
    " else{var p=D.p[j];s+=' &nbsp;p = '+p.toPrecision(3)+' &nbsp;('+(-Math.log2(p)).toFixed(2)+' bits)';\n",
    "  s+='<table>';for(var k=0;k<D.top_k;k++){var id=D.top[j*D.top_k+k];if(id<0)break;\n",
    "   var tp=D.top_p[j*D.top_k+k],g=D.vocab[id];\n",
    "   s+='<tr'+(g===ch?' class=hit':'')+'><td class=c>'+esc(show(g))+'</td><td>'+tp.toFixed(3)+",
    "'</td><td><span class=bar style=\"width:'+Math.round(tp*90)+'px\"></span></td></tr>'}\n",
    "  s+='</table>'}\n",
    " if(current&&j<D.have)s+=esc(label(sel.l,sel.q,sel.u))+' = '+current[j].toFixed(3);\n",
    " return s}\n",
    "var pinned=-1,lit=null;\n",
    "function point(j){if(lit)lit.classList.remove('on');lit=spans[j];lit.classList.add('on');\n",
    " tip.innerHTML=tipFor(j);tip.hidden=false;var r=lit.getBoundingClientRect();\n",
    " var x=Math.min(r.left+window.scrollX,window.scrollX+document.documentElement.clientWidth-tip.offsetWidth-8);\n",
    " tip.style.left=Math.max(4,x)+'px';tip.style.top=(r.bottom+window.scrollY+6)+'px'}\n",
    "function indexOf(t){return t&&t.parentNode===box?Array.prototype.indexOf.call(spans,t):-1}\n",
    "box.addEventListener('mouseover',function(e){var j=indexOf(e.target);if(j>=0&&pinned<0)point(j)});\n",
    "box.addEventListener('mouseleave',function(){if(pinned<0){tip.hidden=true;if(lit)lit.classList.remove('on')}});\n",
    "function unpin(){pinned=-1;tip.hidden=true;if(lit)lit.classList.remove('on')}\n",
    "document.addEventListener('click',function(e){var j=indexOf(e.target);\n",
    " if(j>=0&&j!==pinned){pinned=j;point(j)}else if(!e.target.closest('#controls,#worth'))unpin()});\n",
    /* keys, wherever the focus is but in a field that takes them: arrows
       step the unit (Shift: by 10), [ ] the layer, Q (Shift+Q back) the
       quantity, S back to surprise; by the key's place (code), so that
       they work on any keyboard layout */
    "function typing(t){return t&&(t.tagName==='SELECT'||t.tagName==='TEXTAREA'||t.isContentEditable||\n",
    " t.tagName==='INPUT'&&t.type!=='radio'&&t.type!=='button')}\n",
    "document.addEventListener('keydown',function(e){if(e.ctrlKey||e.metaKey||e.altKey||typing(e.target))return;\n",
    " var k=e.code||e.key,L=D.layers,Q=D.quantities.length,by=e.shiftKey?10:1;\n",
    " if(k==='ArrowRight')choose(sel.l,sel.q,sel.u+by);else if(k==='ArrowLeft')choose(sel.l,sel.q,sel.u-by);\n",
    " else if(k==='BracketRight')choose((sel.l+1)%L,sel.q,sel.u);else if(k==='BracketLeft')choose((sel.l+L-1)%L,sel.q,sel.u);\n",
    " else if(k==='KeyQ')choose(sel.l,(sel.q+(e.shiftKey?Q-1:1))%Q,sel.u);\n",
    " else if(k==='KeyS'){mode='surprise';sync();paint()}else if(k==='Escape')unpin();else return;\n",
    " e.preventDefault()});\n",
    /* the address: #l1.h.37 shows that unit, #c42 points at character 42
       (scrolled to the middle of the window), #l1.h.37,c42 both */
    "paint();\n",
    "location.hash.slice(1).split(',').forEach(function(part){\n",
    " var m=/^l(\\d+)\\.([a-z]+)\\.(\\d+)$/.exec(part),c=/^c(\\d+)$/.exec(part);\n",
    " if(m){var qi=D.quantities.findIndex(function(q){return q.name===m[2]});\n",
    "  if(qi>=0&&+m[1]<D.layers)choose(+m[1],qi,+m[3])}\n",
    " if(c&&+c[1]<n){pinned=+c[1];spans[pinned].scrollIntoView({block:'center'});point(pinned)}});\n",
    "document.body.setAttribute('data-ready-ms',performance.now().toFixed(0));\n",
    "})();\n",
    NULL};
