/* A small .vk (CUDA C subset) highlighter: text -> one array of [class, text] fragments per line. */
"use strict";
const VK = (() => {
  const KW = new Set(("if else for while do return break continue switch case default goto sizeof struct typedef " +
    "const volatile static inline extern enum union __global__ __device__ __shared__ __constant__ __restrict__ " +
    "__forceinline__ __noinline__ true false nullptr").split(" "));
  const TY = new Set(("void bool char short int long float double unsigned signed size_t int8_t uint8_t int16_t " +
    "uint16_t int32_t uint32_t int64_t uint64_t dim3 float2 float4 int2 int4").split(" "));
  const BI = /^(threadIdx|blockIdx|blockDim|gridDim|warpSize|__syncthreads\w*|__syncwarp|atomic\w+|__shfl\w*|__ballot\w*|__any\w*|__all\w*|__activemask|__popc\w*|__clz\w*|__ffs\w*|__fdividef|__\w+f|printf|min|max|abs|fabsf?|sqrtf?|expf?|logf?|sinf?|cosf?|powf?|floorf?|ceilf?|fminf?|fmaxf?|rsqrtf?)$/;
  const TOKEN = /(\/\/[^\n]*)|(\/\*[\s\S]*?(?:\*\/|$))|("(?:\\.|[^"\\\n])*"?|'(?:\\.|[^'\\\n])*'?)|(^[ \t]*#[^\n]*)|(\b(?:0[xX][0-9a-fA-F]+|\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[uUlLfF]*\b)|([A-Za-z_]\w*)/gm;

  function tokens(text) {
    const out = [];
    let last = 0, m;
    TOKEN.lastIndex = 0;
    while ((m = TOKEN.exec(text)) !== null) {
      if (m[0] === "") { TOKEN.lastIndex++; continue; }
      if (m.index > last) out.push(["", text.slice(last, m.index)]);
      let cls = "";
      if (m[1] || m[2]) cls = "t-com";
      else if (m[3]) cls = "t-str";
      else if (m[4]) cls = "t-pp";
      else if (m[5]) cls = "t-num";
      else if (m[6]) cls = KW.has(m[6]) ? "t-kw" : TY.has(m[6]) ? "t-ty" : BI.test(m[6]) ? "t-bi" : "";
      out.push([cls, m[0]]);
      last = TOKEN.lastIndex;
    }
    if (last < text.length) out.push(["", text.slice(last)]);
    return out;
  }

  function lines(text) {
    const result = [[]];
    for (const [cls, t] of tokens(text)) {
      const parts = t.split("\n");
      parts.forEach((p, i) => {
        if (i > 0) result.push([]);
        if (p) result[result.length - 1].push([cls, p]);
      });
    }
    return result;
  }

  function esc(s) {
    return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function html(text) {
    return lines(text).map(frags => frags.map(([c, t]) => c ? `<span class="${c}">${esc(t)}</span>` : esc(t)).join(""));
  }
  return { lines, html, esc };
})();
