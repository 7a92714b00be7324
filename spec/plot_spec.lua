-- kr.plot: every function writes a real PNG and SVG, atomically, with its CSV on request;
-- heat maps put row 1 at the top; a missing gnuplot and misuse give clear errors.
-- The drawing tests need gnuplot (Debian gnuplot-nox, installed by `make deps`); without it
-- they are reported as pending, and the error tests still run.
local kr = require "kairo"
local H = require "helpers"

local has_gnuplot = kr.plot.available()
local it_draws = has_gnuplot and it or function(name) pending(name .. " (gnuplot not installed)") end

local slurp, listing = H.read, H.listing

local dir
setup(function() dir = H.tmpdir() end)
teardown(function() H.rmdir(dir) end)

-- A PNG of the requested size (signature, IHDR width and height) with real content.
local function assert_png(path, w, h)
  local s = slurp(path)
  assert.is_not_nil(s, path .. " was not written")
  assert.are.equal("\137PNG\r\n\26\n", s:sub(1, 8))
  assert.are.equal("IHDR", s:sub(13, 16))
  local pw, ph = string.unpack(">I4I4", s, 17)
  assert.are.same({ w, h }, { pw, ph })
  assert.is_true(#s > 3000, path .. " is suspiciously small: " .. #s .. " bytes")
end

local function assert_svg(path, w, h)
  local s = slurp(path)
  assert.is_not_nil(s, path .. " was not written")
  assert.is_truthy(s:find("^<%?xml"))
  assert.is_truthy(s:find(string.format('<svg[^>]*width="%d"[^>]*height="%d"', w, h)))
  assert.is_truthy(s:find("</svg>%s*$"))
end

local function sine(n, phase)
  local x, y = {}, {}
  for i = 1, n do
    x[i] = (i - 1) * 0.1
    y[i] = math.sin(x[i] + phase)
  end
  return x, y
end

describe("kr.plot.available", function()
  it("is true for an installed gnuplot and false for a missing program", function()
    assert.are.equal(has_gnuplot, kr.plot.available())
    assert.is_false(kr.plot.available("/nonexistent/gnuplot"))
  end)
end)

describe("kr.plot.lines", function()
  it_draws("writes a PNG of the requested size from tensors and tables, every style", function()
    local x, y = sine(100, 0)
    local path = dir .. "/lines.png"
    local ret = kr.plot.lines {
      path = path, title = "Sines", xlabel = "t", ylabel = "a(t)", width = 640, height = 400,
      legend = "bottom left", grid = true, xrange = { 0, nil }, yrange = { -1.5, 1.5 },
      series = {
        { x = kr.tensor(x), y = kr.tensor(y), label = "tensor" },
        { x = x, y = y, style = "dashed", color = "grey", label = "dashed" },
        { y = { 0.1, 0.5, 0.2 }, style = "points", color = "#ff0000", pointsize = 2 },
        { y = kr.tensor({ 0, 1, 0 }, "f32"), style = "linespoints", width = 3 },
      },
    }
    assert.are.equal(path, ret)
    assert_png(path, 640, 400)
  end)

  it_draws("writes an SVG, with log axes", function()
    local y = {}
    for i = 1, 500 do y[i] = 1.2 * math.exp(-i / 100) + 0.1 end
    local path = dir .. "/loss.svg"
    kr.plot.lines { path = path, logy = true, logx = true, series = { { y = y, label = "loss" } } }
    assert_svg(path, 800, 500)
  end)

  it_draws("draws hundreds of series from one data file", function()
    local series = {}
    for k = 1, 200 do
      local _, y = sine(300, k / 10)
      series[k] = { y = y }
    end
    local path = dir .. "/many.png"
    kr.plot.lines { path = path, series = series }
    assert_png(path, 800, 500)
  end)

  it_draws("creates the output folder, and leaves nothing but the figure", function()
    local sub = dir .. "/new folder/it's here"
    kr.plot.lines { path = sub .. "/a.png", series = { { y = { 1, 2, 3 } } } }
    assert.are.same({ "a.png" }, listing(sub))
  end)

  it_draws("removes its temporary data and script files", function()
    local made, tmpname = {}, os.tmpname
    os.tmpname = function()
      local n = tmpname()
      made[#made + 1] = n
      return n
    end
    local ok, err = pcall(function()
      kr.plot.lines { path = dir .. "/tmpcheck.png", series = { { y = { 1, 2 } } } }
      kr.plot.image { path = dir .. "/tmpcheck.svg", data = { { 1 } }, points = { { x = { 1 }, y = { 1 } } } }
      pcall(kr.plot.lines, { path = dir .. "/tmpcheck.png", series = { { y = { 1 }, color = "nocolour" } } })
    end)
    os.tmpname = tmpname
    assert(ok, err)
    assert.is_true(#made >= 6)
    for _, n in ipairs(made) do assert.is_nil(io.open(n), n .. " was left behind") end
  end)

  it_draws("keeps the old figure and leaves no temporary file when gnuplot fails", function()
    local sub = dir .. "/atomic"
    local path = sub .. "/fig.png"
    kr.plot.lines { path = path, series = { { y = { 1, 2, 3 } } } }
    local before = slurp(path)
    local ok, err = pcall(kr.plot.lines, { path = path, series = { { y = { 1, 2 }, color = "notacolour" } } })
    assert.is_false(ok)
    assert.is_truthy(err:find("kr.plot.lines: gnuplot failed drawing '" .. path .. "':", 1, true))
    assert.is_truthy(err:find("unrecognized color name", 1, true))
    assert.are.equal(before, slurp(path))
    assert.are.same({ "fig.png" }, listing(sub))
  end)

  it_draws("writes the series as CSV: wide when they share x, long otherwise", function()
    local path = dir .. "/csv/wide.png"
    local fig, csvpath = kr.plot.lines { path = path, csv = true, series = {
      { x = { 0, 0.5, 1 }, y = { 1, 2, 3 }, label = "a" },
      { x = { 0, 0.5, 1 }, y = { 4, 5, 6.25 } },
    } }
    assert.are.equal(path, fig)
    assert.are.equal(dir .. "/csv/wide.csv", csvpath)
    local t, names = kr.csv.read(csvpath)
    assert.are.same({ "x", "a", "y2" }, names)
    assert.are.same({ { 0, 1, 4 }, { 0.5, 2, 5 }, { 1, 3, 6.25 } }, t:totable())

    local _, longpath = kr.plot.lines { path = dir .. "/csv/long.svg", csv = true, series = {
      { y = { 7, 8 }, label = "first" },
      { x = { 0, 10 }, y = { 2, 2 }, label = "level" },
    } }
    assert.are.equal("# series 1: first\n# series 2: level\nseries,x,y\n1,1,7\n1,2,8\n2,0,2\n2,10,2\n",
      slurp(longpath))
    assert.are.same({ "long.csv", "long.svg", "wide.csv", "wide.png" }, listing(dir .. "/csv"))
  end)

  it("raises clear errors for bad arguments", function()
    local p = dir .. "/bad.png"
    local one = { { y = { 1, 2 } } }
    assert.has_error(function() kr.plot.lines() end, "kr.plot.lines: expected one options table, got nil")
    assert.has_error(function() kr.plot.lines { series = one } end,
      "kr.plot.lines: path is required (where to write the figure)")
    assert.has_error(function() kr.plot.lines { path = dir .. "/x.jpg", series = one } end,
      "kr.plot.lines: path must end in .png or .svg, got '" .. dir .. "/x.jpg'")
    assert.has_error(function() kr.plot.lines { path = p, series = { { x = { 1, 2, 3 }, y = { 1, 2 } } } } end,
      "kr.plot.lines: series 1: x has 3 values, y has 2")
    assert.has_error(function() kr.plot.lines { path = p, series = { { x = kr.zeros(3), y = kr.zeros(4) } } } end,
      "kr.plot.lines: series 1: x has 3 values, y has 4")
    assert.has_error(function() kr.plot.lines { path = p, series = { { y = kr.zeros(2, 3) } } } end,
      "kr.plot.lines: series 1.y must be a 1-D tensor or a list of numbers, got a 2-D float64 tensor (2x3)")
    assert.has_error(function() kr.plot.lines { path = p, series = { { y = { 1, "two" } } } } end,
      "kr.plot.lines: series 1.y[2] is string, expected a number")
    assert.has_error(function() kr.plot.lines { path = p, series = {} } end,
      "kr.plot.lines: series is empty (nothing to plot)")
    assert.has_error(function() kr.plot.lines { path = p, series = { { y = {} } } } end,
      "kr.plot.lines: series 1 is empty (y has no values)")
    assert.has_error(function() kr.plot.lines { path = p, series = { { y = { 1 }, style = "dotted" } } } end,
      "kr.plot.lines: series 1.style must be \"lines\", \"dashed\", \"points\" or \"linespoints\", got 'dotted'")
    assert.has_error(function() kr.plot.lines { path = p, series = { { y = { 1 }, colour = "red" } } } end,
      "kr.plot.lines: unknown series 1 field 'colour' (known: color, edge, label, pointsize, "
      .. "style, width, x, y)")
    assert.has_error(function() kr.plot.lines { path = p, series = one, ylog = true } end,
      "kr.plot.lines: unknown option 'ylog' (known: aspect, csv, fontsize, gnuplot, grid, height, "
      .. "legend, logx, logy, path, series, title, width, xlabel, xrange, xtics, ylabel, yrange, ytics)")
    assert.has_error(function() kr.plot.lines { path = p, series = one, xrange = { 1, 1 } } end,
      "kr.plot.lines: xrange is empty: {1, 1}")
    assert.has_error(function() kr.plot.lines { path = p, series = one, width = 0 } end,
      "kr.plot.lines: width must be a whole number of pixels (16..20000), got 0")
    assert.has_error(function() kr.plot.lines { path = p, series = { { y = { 1 }, color = "#12345" } } } end,
      "kr.plot.lines: series 1.color '#12345' is neither \"#rrggbb\" nor a colour name")
    assert.has_error(function() kr.plot.lines { path = p, series = one, legend = "top\nright" } end)
    assert.is_nil(slurp(p))
  end)
end)

describe("kr.plot.figure", function()
  local function panel(title, logy)
    local x, y = sine(50, 0)
    for i = 1, #y do y[i] = y[i] + 2 end
    return { title = title, xlabel = "t", logy = logy, series = {
      { x = x, y = y, label = "a" }, { x = x, y = y, style = "dashed", color = "grey" } } }
  end

  it_draws("writes a multiplot PNG and SVG", function()
    kr.plot.figure { path = dir .. "/fig.png", title = "Two panels", width = 900, height = 350,
      panels = { panel("shallow"), panel("deep", true) } }
    assert_png(dir .. "/fig.png", 900, 350)
    kr.plot.figure { path = dir .. "/fig.svg", rows = 2, cols = 2,
      panels = { panel("1"), panel("2"), panel("3") } }
    assert_svg(dir .. "/fig.svg", 840, 660)
  end)

  it_draws("writes every panel's series to the CSV", function()
    local _, c = kr.plot.figure { path = dir .. "/figcsv.png", csv = true, panels = {
      { title = "left", series = { { y = { 1, 2 }, label = "a" } } },
      { title = "right", series = { { x = { 5 }, y = { 3 } } } } } }
    assert.are.equal("# series 1: left: a\n# series 2: right: y1\npanel,series,x,y\n1,1,1,1\n1,1,2,2\n2,2,5,3\n",
      slurp(c))
  end)

  it("raises clear errors for bad arguments", function()
    local p = dir .. "/badfig.png"
    assert.has_error(function() kr.plot.figure { path = p, panels = {} } end,
      "kr.plot.figure: panels must be a non-empty list of panels {series = {...}, ...}, got an empty table")
    assert.has_error(function() kr.plot.figure { path = p, rows = 1, cols = 1, panels = { panel("a"), panel("b") } } end,
      "kr.plot.figure: 2 panels do not fit in 1 rows x 1 cols")
    assert.has_error(function()
      kr.plot.figure { path = p, panels = { panel("a"), { series = { { x = { 1 }, y = { 1, 2 } } } } } }
    end, "kr.plot.figure: panels[2].series[1]: x has 1 values, y has 2")
    assert.has_error(function() kr.plot.figure { path = p, panels = { { series = {} } } } end,
      "kr.plot.figure: panels[1].series must be a non-empty list of series")
  end)
end)

-- The cells of a small SVG heat map (drawn as polygons): fill and centre per cell.
local function svg_cells(path)
  local cells = {}
  for r, g, b, pts in slurp(path):gmatch("<polygon fill = 'rgb%(%s*(%d+),%s*(%d+),%s*(%d+)%)' points = '([^']*)'") do
    local sx, sy, n = 0, 0, 0
    for px, py in pts:gmatch("([%d%.%-]+),([%d%.%-]+)") do
      sx, sy, n = sx + tonumber(px), sy + tonumber(py), n + 1
    end
    cells[#cells + 1] = { rgb = { tonumber(r), tonumber(g), tonumber(b) }, x = sx / n, y = sy / n }
  end
  return cells
end

describe("kr.plot.image", function()
  it_draws("writes a heat map with labels, values in the cells and points on top", function()
    local C = kr.tensor({ { 50, 2, 0 }, { 3, 40, 7 }, { 0, 5, 45 } })
    kr.plot.image { path = dir .. "/confusion.png", data = C, annotate = true, title = "Confusion",
      xlabels = { "cat", "dog", "bird" }, ylabels = { "cat", "dog", "bird" }, xlabel = "predicted",
      ylabel = "true", width = 500, height = 450 }
    assert_png(dir .. "/confusion.png", 500, 450)
    local G = {}
    for i = 1, 45 do
      G[i] = {}
      for j = 1, 45 do G[i][j] = (i + j) % 4 + 1 end
    end
    kr.plot.image { path = dir .. "/regions.svg", data = G, extent = { -1.125, 1.125, -1.125, 1.125 },
      origin = "bottom", colorbar = false, points = {
        { x = { 0, 0.5 }, y = { 0, 0.5 }, label = "train data" },
        { x = kr.tensor({ -0.5 }), y = kr.tensor({ -0.5 }), color = "red", edge = false } } }
    assert_svg(dir .. "/regions.svg", 700, 600)
    for _, cm in ipairs { "gray", "viridis", "cool", "hot", "bwr" } do
      kr.plot.image { path = dir .. "/cm-" .. cm .. ".png", data = { { -1, 0 }, { 0.5, 1 } }, colormap = cm,
        annotate = "%.1f" }
      assert_png(dir .. "/cm-" .. cm .. ".png", 700, 600)
    end
  end)

  it_draws("puts row 1 at the top and column 1 at the left", function()
    local path = dir .. "/orient.svg"
    -- row 1 white, row 2 black; column 1 of row 2 mid grey
    kr.plot.image { path = path, data = { { 1, 1, 1 }, { 0.5, 0, 0 } }, colormap = "gray", colorbar = false }
    local cells = svg_cells(path)
    assert.are.equal(6, #cells)
    local white_y, black_y, grey_x, black_x = {}, {}, nil, {}
    for _, c in ipairs(cells) do
      if c.rgb[1] == 255 then white_y[#white_y + 1] = c.y
      elseif c.rgb[1] == 0 then black_y[#black_y + 1] = c.y; black_x[#black_x + 1] = c.x
      else grey_x = c.x end
    end
    assert.are.equal(3, #white_y)
    assert.are.equal(2, #black_y)
    for _, wy in ipairs(white_y) do
      for _, by in ipairs(black_y) do assert.is_true(wy < by) end -- SVG y grows downwards
    end
    for _, bx in ipairs(black_x) do assert.is_true(grey_x < bx) end

    kr.plot.image { path = path, data = { { 1, 1, 1 }, { 0.5, 0, 0 } }, colormap = "gray", origin = "bottom", colorbar = false }
    cells = svg_cells(path)
    local wy, by
    for _, c in ipairs(cells) do
      if c.rgb[1] == 255 then wy = c.y elseif c.rgb[1] == 0 then by = c.y end
    end
    assert.is_true(wy > by)
  end)

  it_draws("writes the matrix (and the overlay points) as CSV", function()
    local path = dir .. "/imgcsv.png"
    local _, c = kr.plot.image { path = path, data = { { 1, 2 }, { 3, 4.5 } }, xlabels = { "a", "b" },
      points = { { x = { 1 }, y = { 2 }, label = "p" } }, csv = true }
    assert.are.equal("a,b\n1,2\n3,4.5\n", slurp(c))
    assert.are.equal("# set 1: p\nset,x,y\n1,1,2\n", slurp(dir .. "/imgcsv-points.csv"))
  end)

  it("raises clear errors for bad arguments", function()
    local p = dir .. "/badimg.png"
    assert.has_error(function() kr.plot.image { path = p } end,
      "kr.plot.image: data is required (a 2-D tensor or a table of rows)")
    assert.has_error(function() kr.plot.image { path = p, data = kr.zeros(4) } end,
      "kr.plot.image: data must be a 2-D tensor or a table of rows, got a 1-D float64 tensor (4)")
    assert.has_error(function() kr.plot.image { path = p, data = kr.zeros(2, 2, 2) } end,
      "kr.plot.image: data must be a 2-D tensor or a table of rows, got a 3-D float64 tensor (2x2x2)")
    assert.has_error(function() kr.plot.image { path = p, data = { 1, 2, 3 } } end,
      "kr.plot.image: data must be a 2-D tensor or a table of rows, got a table of number")
    assert.has_error(function() kr.plot.image { path = p, data = { { 1, 2 }, { 3 } } } end,
      "kr.plot.image: data: row 2 has 1 values, row 1 has 2")
    assert.has_error(function() kr.plot.image { path = p, data = kr.zeros(0, 3) } end,
      "kr.plot.image: data is empty (0x3)")
    assert.has_error(function() kr.plot.image { path = p, data = { { 1, 2 } }, xlabels = { "a" } } end,
      "kr.plot.image: xlabels has 1 labels, the image has 2 columns")
    assert.has_error(function() kr.plot.image { path = p, data = { { 1 } }, colormap = "jet" } end,
      "kr.plot.image: colormap must be \"gray\", \"viridis\", \"cool\", \"hot\" or \"bwr\", got 'jet'")
    assert.has_error(function() kr.plot.image { path = p, data = { { 1 } }, extent = { 0, 1, 0 } } end,
      "kr.plot.image: extent must be {x0, x1, y0, y1} (four finite numbers), got table")
    assert.has_error(function() kr.plot.image { path = p, data = { { 1 } }, origin = "left" } end,
      "kr.plot.image: origin must be \"top\" or \"bottom\" (where row 1 goes), got 'left'")
    assert.has_error(function() kr.plot.image { path = p, data = { { 1 } }, points = { { x = { 1, 2 }, y = { 1 } } } } end,
      "kr.plot.image: points[1]: x has 2 values, y has 1")
  end)
end)

describe("kr.plot.images", function()
  it_draws("writes a grid of images, PNG and SVG", function()
    local ims = {}
    for k = 1, 6 do
      local t = kr.zeros(8, 10)
      for i = 1, 8 do for j = 1, 10 do t:set(i, j, math.cos(k) * i + math.sin(k) * j) end end
      ims[k] = t
    end
    ims[7] = { { 0, 1 }, { 1, 0 } }
    kr.plot.images { path = dir .. "/grid.png", images = ims, cols = 4, title = "maps",
      titles = { "1", "2", "3", "4", "5", "6", "7" }, colormap = "cool", width = 600, height = 400 }
    assert_png(dir .. "/grid.png", 600, 400)
    kr.plot.images { path = dir .. "/grid.svg", images = ims, range = { -5, 5 }, colorbar = true }
    -- default size: 3 columns of 220-pixel cells plus a 70-pixel bar each; square cells
    assert_svg(dir .. "/grid.svg", 3 * 220 + 3 * 70 + 20, 3 * (220 + 6) + 6 + 10)
  end)

  it_draws("writes image,row,col,value as CSV", function()
    local _, c = kr.plot.images { path = dir .. "/gridcsv.png", images = { { { 1, 2 } }, kr.tensor({ { 3 }, { 4 } }) },
      csv = true }
    assert.are.equal("image,row,col,value\n1,1,1,1\n1,1,2,2\n2,1,1,3\n2,2,1,4\n", slurp(c))
  end)

  it("raises clear errors for bad arguments", function()
    local p = dir .. "/badgrid.png"
    assert.has_error(function() kr.plot.images { path = p, images = {} } end,
      "kr.plot.images: images must be a non-empty list of 2-D tensors or tables, got an empty table")
    assert.has_error(function() kr.plot.images { path = p, images = { kr.zeros(2, 2), kr.zeros(4) } } end,
      "kr.plot.images: images[2] must be a 2-D tensor or a table of rows, got a 1-D float64 tensor (4)")
    assert.has_error(function() kr.plot.images { path = p, images = { kr.zeros(2, 2) }, titles = { "a", "b" } } end,
      "kr.plot.images: titles has 2 entries for 1 images")
    -- a closed tensor raised "calling 'dim' on bad self"; a tensor option was printed whole
    local closed = kr.zeros(2, 2)
    closed:close()
    assert.has_error(function() kr.plot.images { path = p, images = { closed } } end,
      "kr.plot.images: images[1] must be a 2-D tensor or a table of rows, got a closed tensor")
    assert.has_error(function() kr.plot.images { path = p, images = { kr.zeros(2, 2) }, width = kr.zeros(3) } end,
      "kr.plot.images: width must be a whole number of pixels (16..20000), got a 1-D float64 tensor (3)")
  end)

  it_draws("draws a constant image of huge values (its colour range was empty)", function()
    local p = dir .. "/huge.png"
    kr.plot.images { path = p, images = { kr.full({ 2, 3 }, 1e300), kr.ones(1, 1) } }
    assert.is_truthy(io.open(p, "rb"))
  end)
end)

describe("kr.plot.scatter", function()
  it_draws("colours points by class, PNG and SVG, and writes x,y,class", function()
    local x, y, labels = {}, {}, {}
    for k = 1, 3 do
      for m = 1, 40 do
        local r, a = m / 40, math.pi * m / 40 + 2 * math.pi * k / 3
        x[#x + 1], y[#y + 1], labels[#labels + 1] = r * math.cos(a), r * math.sin(a), k
      end
    end
    local _, c = kr.plot.scatter { path = dir .. "/scatter.png", x = kr.tensor(x), y = kr.tensor(y),
      labels = kr.tensor(labels), classnames = { "one", "two", "three" }, aspect = "equal", csv = true,
      width = 500, height = 500 }
    assert_png(dir .. "/scatter.png", 500, 500)
    local t, names = kr.csv.read(c)
    assert.are.same({ "x", "y", "class" }, names)
    assert.are.same({ 120, 3 }, t:shape())
    assert.are.equal(3, t:get(120, 3))
    kr.plot.scatter { path = dir .. "/scatter.svg", x = { 1, 2, 3 }, y = { 3, 1, 2 }, labels = { "b", "a", "b" } }
    assert_svg(dir .. "/scatter.svg", 800, 500)
  end)

  it("raises clear errors for bad arguments", function()
    local p = dir .. "/badscatter.png"
    assert.has_error(function() kr.plot.scatter { path = p, x = { 1, 2 }, y = { 1 } } end,
      "kr.plot.scatter: x has 2 values, y has 1")
    assert.has_error(function() kr.plot.scatter { path = p, x = { 1 }, y = { 1 }, labels = { 1, 2 } } end,
      "kr.plot.scatter: labels has 2 entries, x and y have 1")
    assert.has_error(function() kr.plot.scatter { path = p, x = { 1 } } end,
      "kr.plot.scatter: x and y are required")
  end)
end)

describe("a missing gnuplot", function()
  local msg = "kr.plot: gnuplot not found (install the Debian package gnuplot-nox)"

  it("raises a clear error from every function, after writing the CSV", function()
    local gp = "/nonexistent/gnuplot"
    local calls = {
      lines = { series = { { y = { 1, 2 } } } },
      figure = { panels = { { series = { { y = { 1, 2 } } } } } },
      image = { data = { { 1 } } },
      images = { images = { { { 1 } } } },
      scatter = { x = { 1 }, y = { 2 } },
    }
    for name, o in pairs(calls) do
      o.path, o.gnuplot, o.csv = dir .. "/nogp/" .. name .. ".png", gp, true
      local ok, err = pcall(kr.plot[name], o)
      assert.is_false(ok)
      assert.are.equal(msg .. "; tried '/nonexistent/gnuplot' from option gnuplot", (err:gsub("^.-:%d+: ", "")))
    end
    assert.are.same({ "figure.csv", "image.csv", "images.csv", "lines.csv", "scatter.csv" }, listing(dir .. "/nogp"))
  end)

  it("is recognised through KAIRO_GNUPLOT", function()
    local code = [[
      local kr = require "kairo"
      print(kr.plot.available())
      local ok, err = pcall(kr.plot.lines, { path = arg[1], series = { { y = { 1 } } } })
      io.write(err, "\n")]]
    local script = dir .. "/env_check.lua"
    H.write(script, code)
    local cmd = string.format("KAIRO_GNUPLOT=/nonexistent LUA_PATH='lua/?.lua;lua/?/init.lua;;' LUA_CPATH='lua/?.so;;' %s %s %s 2>&1",
      H.LUA, H.sh(script), H.sh(dir .. "/env.png"))
    local p = io.popen(cmd)
    local out = p:read("a")
    p:close()
    assert.are.equal("false\n" .. msg .. "; tried '/nonexistent' from KAIRO_GNUPLOT\n", (out:gsub("[^\n]-:%d+: ", "")))
    assert.is_nil(slurp(dir .. "/env.png"))
  end)
end)

-- A gnuplot that keeps a copy of the script it runs, so a test can read what was asked of it.
local function recording_gnuplot()
  local keep = dir .. "/last.gp"
  local wrapper = dir .. "/gnuplot-recording"
  H.write(wrapper, string.format('#!/bin/sh\ncp "$2" %s\nexec gnuplot "$@"\n', H.sh(keep)))
  os.execute("chmod +x " .. H.sh(wrapper))
  return wrapper, function() return slurp(keep) end
end

describe("kr.plot figures that read right", function()
  it_draws("labels a log axis across its range and says it is logarithmic", function()
    local gp, script = recording_gnuplot()
    local x, y = {}, {}
    for i = 1, 200 do x[i], y[i] = i, 5.4 + 38.6 * math.exp(-i / 20) end
    kr.plot.lines { path = dir .. "/logy.png", gnuplot = gp, logy = true, ylabel = "loss",
      series = { { x = x, y = y } } }
    local s = script()
    assert.is_truthy(s:find('set ylabel "loss (log scale)"', 1, true))
    local tics = s:match("set ytics %(([^)]*)%)")
    assert.is_truthy(tics, "no explicit y tics")
    local labels = {}
    for v in tics:gmatch('"([^"]+)"') do labels[#labels + 1] = tonumber(v) end
    -- 5.4 .. 44: every integer 6..9, then 10, 20, 30, 40
    assert.are.same({ 6, 7, 8, 9, 10, 20, 30, 40 }, labels)
    -- over many decades: one label a decade or a few, never one or none
    for i = 1, 200 do y[i] = 10 ^ (-i / 20) end
    kr.plot.lines { path = dir .. "/logy2.png", gnuplot = gp, logy = true,
      series = { { x = x, y = y } } }
    s = script()
    assert.is_truthy(s:find('set ylabel "(log scale)"', 1, true))
    local n = 0
    for _ in s:match("set ytics %(([^)]*)%)"):gmatch('"[^"]+"') do n = n + 1 end
    assert.is_true(n >= 4 and n <= 12, n .. " labels")
  end)

  it_draws("puts ticks at the integers when asked (a depth axis)", function()
    local gp, script = recording_gnuplot()
    kr.plot.lines { path = dir .. "/xt.png", gnuplot = gp, xtics = 1,
      series = { { x = { 1, 2, 3, 4 }, y = { 1, 0.3, 0.03, 0.01 } } } }
    assert.is_truthy(script():find("set xtics 1\n"))
    kr.plot.lines { path = dir .. "/xt2.png", gnuplot = gp, xtics = { 1, 2, 4 },
      series = { { x = { 1, 2, 3, 4 }, y = { 1, 0.3, 0.03, 0.01 } } } }
    assert.is_truthy(script():find('set xtics ("1" 1, "2" 2, "4" 4)', 1, true))
    assert.has_error(function()
      kr.plot.lines { path = dir .. "/xt3.png", xtics = 0, series = { { y = { 1, 2 } } } }
    end, "kr.plot.lines: xtics must be a positive step or a non-empty list of values, got 0")
  end)

  it_draws("gives a grid of weight maps one shared, numbered colour bar", function()
    local gp, script = recording_gnuplot()
    local maps = {}
    for k = 1, 4 do maps[k] = kr.tensor({ { -k, 0 }, { 0, k / 2 } }) end
    kr.plot.images { path = dir .. "/shared.png", gnuplot = gp, images = maps, colormap = "bwr",
      colorbar = "shared", titles = { "a", "b", "c", "d" },
      title = "A title long enough that it has to be wrapped onto a second line at this width",
      width = 400 }
    local s = script()
    -- every panel on the same symmetric scale, the range over all images
    local n = 0
    for lo, hi in s:gmatch("set cbrange %[([^:]+):([^%]]+)%]") do
      assert.are.equal(-4, tonumber(lo)); assert.are.equal(4, tonumber(hi)); n = n + 1
    end
    assert.are.equal(4, n)
    local _, bars = s:gsub("set colorbox user", "")
    assert.are.equal(1, bars)
    assert.is_truthy(s:find("set cbtics", 1, true))
    assert.is_truthy(s:find("\\012"), "the long title was not wrapped")
    assert.has_error(function()
      kr.plot.images { path = dir .. "/bad.png", images = maps, colorbar = "yes" }
    end, "kr.plot.images: colorbar must be true, false or \"shared\", got 'yes'")
  end)

  it_draws("shows an overlay's outline in the legend (points drawn as rings on a heat map)", function()
    local gp, script = recording_gnuplot()
    kr.plot.image { path = dir .. "/ov.png", gnuplot = gp, data = { { 1, 2 }, { 3, 4 } },
      points = { { x = { 1 }, y = { 1 }, label = "train data", color = "#440154" } } }
    local s = script()
    assert.is_truthy(s:find('with points pt 7 [^\n]*notitle'))
    assert.is_truthy(s:find('with points pt 6 [^\n]*title "train data"'))
  end)
end)
