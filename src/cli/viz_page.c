/* SPDX-License-Identifier: MIT */
/*
 * The style and script of charnn viz's page (src/cli/viz.c writes the text
 * and the numbers around them). Plain CSS and JavaScript that any current
 * browser runs from a file, with nothing loaded from elsewhere.
 *
 * The numbers arrive as JSON in <script id="data">: n characters, their
 * predictions (p, top guesses), and per layer l and quantity q (h, c or a
 * gate) a block of H x n activations quantized to bytes over [lo, hi],
 * unit-major, stored as described in viz.c (pack_block); a block is decoded
 * the first time one of its units is shown. The address's fragment #l1.h.37
 * shows unit 37 of layer 1's h at once; every tinted character then also
 * carries its value in data-v (what the tests read).
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
    "#controls select,#controls input,#controls button{font:inherit}\n",
    "#controls input[type=number]{width:5.5em}\n",
    "#legend{display:inline-flex;align-items:center;gap:6px;color:#555}\n",
    "#legend i{display:inline-block;width:160px;height:12px;border:1px solid #ccc}\n",
    "#worth{font-size:14px;color:#444}#worth b{font-weight:600}\n",
    "#worth button{font:inherit;font-size:13px;border:1px solid #bbb;background:#fff;",
    "border-radius:4px;padding:1px 6px;cursor:pointer}\n",
    "#worth button:hover{background:#eef}\n",
    "#text{margin:8px 20px 40px;padding:14px 16px;background:#fff;border:1px solid #ddd;",
    "border-radius:6px;font:15px/1.6 ui-monospace,Menlo,Consolas,'DejaVu Sans Mono',",
    "monospace;white-space:pre-wrap;overflow-wrap:anywhere;unicode-bidi:plaintext;",
    "text-align:start}\n",
    "#text span{border-radius:2px}\n",
    "#text span.nl::before{content:'\\21b5';color:#c8c8c8}\n",
    "#text span.on{outline:1px solid #333}\n",
    "#tip{position:absolute;z-index:2;background:#fff;border:1px solid #999;",
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
    "var tip=document.getElementById('tip'),$=function(id){return document.getElementById(id)};\n",
    /* a character as the tip shows it */
    "function show(c){return c==='\\n'?'\\u21b5':c===' '?'\\u2423':c==='\\t'?'\\u21e5':",
    "c.charCodeAt(0)<32?'\\u2400'.replace('\\u2400',String.fromCharCode(0x2400+c.charCodeAt(0))):c}\n",
    "function esc(s){return s.replace(/&/g,'&amp;').replace(/</g,'&lt;')}\n",
    /* colours: surprise white to red over 0..12 bits; tanh-range values
       blue (-1) white (0) red (+1); gates white (0) to green (1) */
    "function rgba(c,a){return 'rgba('+c+','+a.toFixed(3)+')'}\n",
    "var RED='214,39,40',BLUE='31,119,180',GREEN='44,160,44';\n",
    "function surpriseColour(bits){return rgba(RED,Math.min(bits,12)/12*0.85)}\n",
    "var palettes={};\n",
    "function palette(q,bits){var key=q.name+bits,top=(1<<bits)-1;if(palettes[key])return palettes[key];var p=[];\n",
    " for(var k=0;k<=top;k++){var v=q.lo+k*(q.hi-q.lo)/top;\n",
    "  p.push(q.lo<0?(v<0?rgba(BLUE,-v*0.85):rgba(RED,v*0.85)):rgba(GREEN,v*0.85))}\n",
    " return palettes[key]=p}\n",
    /* blocks: decoded on first use (see unpack in viz.c) */
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
    "  $('legend').innerHTML='surprise: 0 bits <i style=\"background:linear-gradient(90deg,'+",
    "surpriseColour(0)+','+surpriseColour(12)+')\"></i> 12+ bits (-log<sub>2</sub> p of the character)';\n",
    "  return}\n",
    " var q=D.quantities[sel.q],bits=D.blocks[blockOf()].bits,pal=palette(q,bits),b=block(blockOf());\n",
    " var codes=b.subarray(sel.u*n,(sel.u+1)*n);current=values();\n",
    " for(j=0;j<n;j++){var sp=spans[j];if(j<D.have){sp.style.backgroundColor=pal[codes[j]];",
    "sp.setAttribute('data-v',current[j].toFixed(4))}else{sp.style.backgroundColor='';",
    "sp.removeAttribute('data-v')}}\n",
    " $('legend').innerHTML=q.lo+' <i style=\"background:linear-gradient(90deg,'+pal[0]+','+",
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
    " '<span id=legend></span>';c.innerHTML=h;\n",
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
    " p.units.forEach(function(x){w+=' <button data-l='+x.l+' data-q='+x.q+' data-u='+x.u+'>l'+x.l+' '+",
    "esc(D.quantities[x.q].name)+' '+x.u+' (r = '+x.r.toFixed(2)+')</button>'});w+='</span>'});\n",
    "$('worth').innerHTML=w;\n",
    "$('worth').onclick=function(e){var t=e.target.closest('button');if(t)",
    "choose(+t.dataset.l,+t.dataset.q,+t.dataset.u)};\n",
    /* the tip: the character's probability, the model's guesses, the unit */
    "function tipFor(j){var ch=D.text[j],s='<b>'+esc(show(ch))+'</b>';\n",
    " if(j===0)s+=' &nbsp;the first character: no prediction';\n",
    " else{var p=D.p[j];s+=' &nbsp;p = '+p.toPrecision(3)+' &nbsp;('+(-Math.log2(p)).toFixed(2)+' bits)';\n",
    "  s+='<table>';for(var k=0;k<D.top_k;k++){var id=D.top[j*D.top_k+k];if(id<0)break;\n",
    "   var tp=D.top_p[j*D.top_k+k],g=D.vocab[id];\n",
    "   s+='<tr'+(g===ch?' class=hit':'')+'><td class=c>'+esc(show(g))+'</td><td>'+tp.toFixed(3)+",
    "'</td><td><span class=bar style=\"width:'+Math.round(tp*90)+'px\"></span></td></tr>'}\n",
    "  s+='</table>'}\n",
    " if(current&&j<D.have){var q=D.quantities[sel.q];s+='layer '+sel.l+' '+esc(q.name)+' unit '+sel.u+' = '+",
    "current[j].toFixed(3)}\n",
    " return s}\n",
    "var pinned=-1,lit=null;\n",
    "function point(j){if(lit)lit.classList.remove('on');lit=spans[j];lit.classList.add('on');\n",
    " tip.innerHTML=tipFor(j);tip.hidden=false;var r=lit.getBoundingClientRect();\n",
    " var x=Math.min(r.left+window.scrollX,window.scrollX+document.documentElement.clientWidth-tip.offsetWidth-8);\n",
    " tip.style.left=Math.max(4,x)+'px';tip.style.top=(r.bottom+window.scrollY+6)+'px'}\n",
    "function indexOf(t){return t&&t.parentNode===box?Array.prototype.indexOf.call(spans,t):-1}\n",
    "box.addEventListener('mouseover',function(e){var j=indexOf(e.target);if(j>=0&&pinned<0)point(j)});\n",
    "box.addEventListener('mouseleave',function(){if(pinned<0){tip.hidden=true;if(lit)lit.classList.remove('on')}});\n",
    "document.addEventListener('click',function(e){var j=indexOf(e.target);\n",
    " if(j>=0&&j!==pinned){pinned=j;point(j)}else if(!e.target.closest('#controls,#worth')){pinned=-1;",
    "tip.hidden=true;if(lit)lit.classList.remove('on')}});\n",
    /* #l1.h.37 in the address shows that unit */
    "var m=/^#l(\\d+)\\.([a-z]+)\\.(\\d+)$/.exec(location.hash);\n",
    "if(m){var qi=D.quantities.findIndex(function(q){return q.name===m[2]});\n",
    " if(qi>=0&&+m[1]<D.layers)choose(+m[1],qi,+m[3]);else paint()}else paint();\n",
    "document.body.setAttribute('data-ready-ms',performance.now().toFixed(0));\n",
    "})();\n",
    NULL};
