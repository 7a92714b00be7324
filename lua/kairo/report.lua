-- kairo.report: a static HTML page of experiments from their run records (kairo.record).
--
--   local report = require "kairo.report"
--   local html = report.page { title = "...", intro = "...", sections = {
--     { id = "spiral", title = "...", text = "...", record = rec, figures = { "spiral/a.png" },
--       rows = { { label = "train accuracy", value = 99.25, unit = "%",
--                  reference = "98.5-99 %", source = "notes #8", verdict = true }, ... } } } }
--   report.write("out/index.html", html)
--
-- The page needs no network and no JavaScript: inline CSS, images by relative links, numbers
-- in plain tables.  A verdict is true (met), false (missed) or nil (no reference to meet).
-- report.check(value, ref) turns a reference { lo, hi, kind = "range" | "atleast" | "atmost",
-- tol } into a verdict and the text that states it.
local report = {}

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
    ['"'] = "&quot;" }))
end
report.escape = esc

--- Formats a number for the tables: 4 significant digits, integers as such.
function report.num(v, digits)
  if type(v) == "string" then return v end
  if type(v) ~= "number" then return "-" end -- nil, JSON's null
  if v ~= v then return "nan" end
  if math.type(v) == "integer" or (v == math.floor(v) and math.abs(v) < 1e6) then
    return string.format("%d", math.floor(v))
  end
  return string.format("%." .. (digits or 4) .. "g", v)
end

--- The verdict for value against ref, and the reference's text.
--   range:   lo <= value <= hi, each bound widened by tol (relative, default 0.05)
--   atleast: value >= lo - tol (absolute, default 0)
--   atmost:  value <= hi * (1 + tol) (relative, default 0.05)
function report.check(value, ref)
  local kind, lo, hi = ref.kind or "range", ref.lo, ref.hi or ref.lo
  local text = ref.text
  if type(value) ~= "number" or value ~= value then return false, text or "-" end
  if kind == "atleast" then
    local tol = ref.tol or 0
    return value >= lo - tol, text or ("at least " .. report.num(lo))
  elseif kind == "atmost" then
    local tol = ref.tol or 0.05
    return value <= hi * (1 + tol), text or ("at most " .. report.num(hi))
  end
  local tol = ref.tol or 0.05
  local a, b = math.min(lo, hi), math.max(lo, hi)
  local ok = value >= a - math.abs(a) * tol and value <= b + math.abs(b) * tol
  if not text then
    text = a == b and ("about " .. report.num(a)) or (report.num(a) .. " to " .. report.num(b))
  end
  return ok, text
end

local CSS = [[
body { font-family: sans-serif; max-width: 72em; margin: 1em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.met { color: #0a6b0a; font-weight: bold; } .missed { color: #b00020; font-weight: bold; }
.none { color: #777; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 32em; max-height: 24em; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
code, pre { font-size: 0.9em; } pre { background: #f7f7f7; padding: 0.5em; overflow-x: auto; }
nav li { margin: 0.1em 0; }
]]

local function mark(verdict)
  if verdict == true then return '<span class="met">&#10003; met</span>' end
  if verdict == false then return '<span class="missed">&#10007; missed</span>' end
  return '<span class="none">no reference</span>'
end
report.mark = mark

local function section_html(s, out)
  out[#out + 1] = string.format('<section id="%s">\n<h2>%s</h2>', esc(s.id), esc(s.title))
  if s.text then out[#out + 1] = "<p>" .. esc(s.text) .. "</p>" end
  if s.command then
    out[#out + 1] = "<p>Command: <code>" .. esc(s.command) .. "</code>"
      .. (s.seconds and string.format(" (%.1f s)", s.seconds) or "") .. "</p>"
  end
  if s.error then
    out[#out + 1] = '<p class="missed">The run failed: ' .. esc(s.error) .. "</p>"
  end
  if s.rows and #s.rows > 0 then
    out[#out + 1] = "<table>\n<tr><th>quantity</th><th>measured here</th><th>chapter's "
      .. "reference</th><th>source</th><th>verdict</th></tr>"
    for _, r in ipairs(s.rows) do
      out[#out + 1] = string.format('<tr><td>%s</td><td class="num">%s</td><td>%s</td>'
        .. '<td>%s</td><td>%s</td></tr>', esc(r.label),
        esc(r.text or (report.num(r.value) .. (r.unit and (" " .. r.unit) or ""))),
        esc(r.reference or "-"), esc(r.source or ""), mark(r.verdict))
    end
    out[#out + 1] = "</table>"
  end
  local rec = s.record
  if rec then
    local t = rec.time or {}
    out[#out + 1] = string.format("<p>Run: seed %s, %s s wall, %s s CPU; kairo %s, commit %s; %s "
      .. "(%s threads). Record: <a href=\"%s\">%s</a>.</p>", esc(report.num(rec.seed)),
      esc(report.num(t.wall_s, 3)), esc(report.num(t.cpu_s, 3)), esc(rec.kairo_version or "?"),
      esc(type(rec.git_commit) == "string" and rec.git_commit:sub(1, 12) or "unknown"),
      esc(rec.blas and rec.blas.blas_core and ("BLAS " .. rec.blas.blas_core) or "BLAS ?"),
      esc(rec.blas and report.num(rec.blas.threads) or "?"), esc(s.record_href),
      esc(s.record_href))
  end
  for _, f in ipairs(s.figures or {}) do
    local name = f:match("([^/]+)$")
    out[#out + 1] = string.format('<figure><a href="%s"><img src="%s" alt="%s"></a>'
      .. "<figcaption>%s</figcaption></figure>", esc(f), esc(f), esc(name), esc(name))
  end
  if s.log_href then
    out[#out + 1] = string.format('<p>Output: <a href="%s">%s</a></p>', esc(s.log_href),
      esc(s.log_href))
  end
  out[#out + 1] = "</section>"
end

--- The whole page as a string.
function report.page(p)
  local out = { "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
    "<title>" .. esc(p.title) .. "</title>", "<style>" .. CSS .. "</style>", "</head>", "<body>",
    "<h1>" .. esc(p.title) .. "</h1>" }
  if p.intro then out[#out + 1] = "<p>" .. esc(p.intro) .. "</p>" end
  local met, missed = 0, 0
  for _, s in ipairs(p.sections) do
    for _, r in ipairs(s.rows or {}) do
      if r.verdict == true then met = met + 1 elseif r.verdict == false then missed = missed + 1 end
    end
  end
  out[#out + 1] = string.format("<p>References: <span class=\"met\">%d met</span>, "
    .. "<span class=\"missed\">%d missed</span>.%s</p>", met, missed,
    p.summary and (" " .. esc(p.summary)) or "")
  out[#out + 1] = "<nav><ul>"
  for _, s in ipairs(p.sections) do
    out[#out + 1] = string.format('<li><a href="#%s">%s</a></li>', esc(s.id), esc(s.title))
  end
  out[#out + 1] = "</ul></nav>"
  for _, s in ipairs(p.sections) do section_html(s, out) end
  if p.footer then out[#out + 1] = "<footer><p>" .. esc(p.footer) .. "</p></footer>" end
  out[#out + 1] = "</body>\n</html>\n"
  return table.concat(out, "\n"), met, missed
end

--- Writes text to path through a temporary file (renamed once complete).
function report.write(path, text)
  local tmp = path .. ".tmp"
  local f, err = io.open(tmp, "w")
  if not f then error("report.write: cannot write '" .. path .. "': " .. tostring(err), 2) end
  local ok, werr = f:write(text)
  f:close()
  if not ok then
    os.remove(tmp)
    error("report.write: cannot write '" .. path .. "': " .. tostring(werr), 2)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    error("report.write: cannot replace '" .. path .. "': " .. tostring(rerr), 2)
  end
end

return report
