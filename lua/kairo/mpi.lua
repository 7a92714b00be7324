-- kairo.mpi: the same script on one process or on many (MPI ranks).
--
--   local mpi = require "kairo.mpi"
--   mpi.rank(), mpi.size()        0-based rank (as MPI numbers them) and the number of ranks
--   mpi.barrier()
--   mpi.bcast(t, root)            a tensor: in place, every rank passes one of the same size and
--                                 dtype (contiguous); returns t
--   mpi.bcast(v, root)            any other value: returns the root's v on every rank
--   mpi.allreduce(t [, op])       in place on a contiguous tensor: "sum" (default), "max",
--                                 "min", "mean"; returns t
--   mpi.gather(v, root)           on the root { v_0, ..., v_{size-1} } (index rank + 1), nil on
--                                 the others
--   mpi.allgather(v)              { v_0, ..., v_{size-1} } on every rank
--   for i in mpi.work(n) do ... end
--                                 a dynamic work queue over 1..n: each rank takes the next item
--                                 when it is done with its last (collective: every rank loops)
--   mpi.enabled()                 true when MPI is in use (false: a one-rank world)
--   mpi.host()                    the machine's name (MPI_Get_processor_name)
--   mpi.finalize()                MPI_Finalize now (otherwise done at exit)
--
-- Values for bcast, gather and allgather: nil, booleans, numbers (integers stay integers,
-- floats are sent bit for bit), strings, tensors (any layout; they arrive contiguous), and
-- tables of these (nested, any keys of those kinds; no cycles; metatables are not sent).
-- Every rank receives copies, the root too, in both worlds.
--
-- Which world: MPI when the process was started by mpirun/mpiexec (OMPI_COMM_WORLD_SIZE),
-- by srun or another PMI launcher (PMIX_RANK, PMI_RANK, SLURM_STEP_NUM_TASKS > 1), or when
-- KAIRO_MPI=1; under plain `lua5.4 script.lua` a one-rank world that never loads MPI (a
-- singleton MPI_Init costs half a second).  KAIRO_MPI=0 forces the one-rank world.  MPI is
-- initialised on first use (the first call of any function here), not by the require.
--
-- Errors: a bad argument raises "mpi.NAME: ..." on the rank that passed it; an MPI failure
-- raises "mpi.NAME: MPI_Xxx failed: <the library's message>".  A rank that ends with an error
-- makes the whole job stop (MPI_Abort, see lua/mpi/l_mpi.c) rather than leave the other
-- ranks waiting for it.
local mpi = {}

local kr -- loaded on first use of a tensor, so `require "kairo.mpi"` alone stays light
local function kairo()
  kr = kr or require "kairo"
  return kr
end

local function is_tensor(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "kairo.Tensor" and kairo().is_tensor(v)
end

local function kind(v)
  local mt = getmetatable(v)
  if type(mt) == "table" and mt.__name == "kairo.Tensor" then
    return is_tensor(v) and "tensor" or "closed tensor"
  end
  if type(mt) == "table" and type(mt.__name) == "string" then return mt.__name end
  return type(v)
end

-- ------------------------------------------------------------------------------ the world

-- The C half's errors come back at the caller's line, not at this file's.
local function raise(ok, ...)
  if ok then return ... end
  local msg = tostring((...)):gsub("^[^\n:]*kairo/mpi%.lua:%d+: ", "")
  error(msg, 3)
end

local function launcher()
  local n = os.getenv("OMPI_COMM_WORLD_SIZE")
  if n then return "mpirun (OMPI_COMM_WORLD_SIZE=" .. n .. ")" end
  if os.getenv("PMIX_RANK") then return "a PMIx launcher (PMIX_RANK is set)" end
  if os.getenv("PMI_RANK") then return "a PMI launcher (PMI_RANK is set)" end
  local tasks = tonumber(os.getenv("SLURM_STEP_NUM_TASKS") or "")
  if tasks and tasks > 1 then return "srun (SLURM_STEP_NUM_TASKS=" .. tasks .. ")" end
  return nil
end

local C          -- kairo.mpi_core, when MPI is in use
local world      -- nil until decided; then "mpi" or "single"

local function decide(fname)
  if world then return world end
  local force = os.getenv("KAIRO_MPI")
  if force ~= nil and force ~= "" and force ~= "0" and force ~= "1" then
    error(string.format("mpi.%s: KAIRO_MPI must be 0 or 1, got '%s'", fname, force), 3)
  end
  local by = launcher()
  local want = force == "1" or (force ~= "0" and by ~= nil)
  if not want then
    world = "single"
    return world
  end
  local ok, core = pcall(require, "kairo.mpi_core")
  if not ok then
    error(string.format("mpi.%s: started by %s, but kairo's MPI module does not load (%s); "
      .. "build it with make where libopenmpi-dev is installed (make deps)", fname,
      by or "KAIRO_MPI=1", tostring(core):match("^[^\n]*")), 3)
  end
  C = core
  C.init()
  world = "mpi"
  local tasks = tonumber(os.getenv("SLURM_STEP_NUM_TASKS") or "")
  if tasks and tasks > 1 and C.size() == 1 then
    error(string.format("mpi.%s: srun started %d tasks but MPI sees one: use srun --mpi=pmix "
      .. "(or pmi2), as `srun --mpi=list` offers", fname, tasks), 3)
  end
  return world
end

function mpi.enabled()
  return decide("enabled") == "mpi"
end

function mpi.rank()
  if decide("rank") == "single" then return 0 end
  return C.rank()
end

function mpi.size()
  if decide("size") == "single" then return 1 end
  return C.size()
end

function mpi.barrier()
  if decide("barrier") == "mpi" then raise(pcall(C.barrier)) end
end

function mpi.host()
  if decide("host") == "mpi" then return C.processor_name() end
  local f = io.open("/proc/sys/kernel/hostname")
  local name = f and f:read("l")
  if f then f:close() end
  return name or os.getenv("HOSTNAME") or "localhost"
end

function mpi.finalize()
  if world == "mpi" then C.finalize() end
end

local function check_root(fname, root)
  local size = mpi.size()
  if math.type(root) ~= "integer" then
    error(string.format("mpi.%s: root must be an integer rank (0 to %d), got %s", fname,
      size - 1, type(root) == "number" and tostring(root) or kind(root)), 3)
  end
  if root < 0 or root >= size then
    error(string.format("mpi.%s: root %d is not a rank (0 to %d)", fname, root, size - 1), 3)
  end
  return root
end

local function check_buffer(fname, t)
  if not is_tensor(t) then
    error(string.format("mpi.%s: expected a tensor, got %s", fname, kind(t)), 3)
  end
  if not t:is_contiguous() then
    error(string.format("mpi.%s: the tensor must be contiguous (a view with strides is not; "
      .. "use t:contiguous() and copy back)", fname), 3)
  end
end

-- ------------------------------------------------------------------------- serialisation
-- One byte says what follows: N nil, T/F booleans, I integer, D float, S string,
-- X tensor (dtype byte, ndim, sizes, raw bytes), { table (pairs count, then key, value ...).
-- The one-rank world sends nothing: its tensors are cloned into `kept` and marked x (index),
-- so both worlds check and copy the same way.

local function encode(fname, v, out, seen, depth, kept)
  local tv = type(v)
  if tv == "nil" then out[#out + 1] = "N"
  elseif tv == "boolean" then out[#out + 1] = v and "T" or "F"
  elseif math.type(v) == "integer" then out[#out + 1] = string.pack("<c1j", "I", v)
  elseif tv == "number" then out[#out + 1] = string.pack("<c1d", "D", v)
  elseif tv == "string" then out[#out + 1] = string.pack("<c1s4", "S", v)
  elseif is_tensor(v) then
    if kept then
      kept[#kept + 1] = v:clone()
      out[#out + 1] = string.pack("<c1j", "x", #kept)
      return
    end
    local t = v:is_contiguous() and v or v:contiguous()
    local shape = t:shape()
    out[#out + 1] = string.pack("<c1Bi1", "X", t:dtype() == "float32" and 1 or 0, #shape)
    for _, n in ipairs(shape) do out[#out + 1] = string.pack("<j", n) end
    out[#out + 1] = C.tensor_bytes(t)
  elseif tv == "table" and kind(v) == "table" then
    if seen[v] then
      error(string.format("mpi.%s: the value holds a cycle (a table inside itself)", fname),
        depth + 4)
    end
    seen[v] = true
    local n = 0
    for _ in pairs(v) do n = n + 1 end
    out[#out + 1] = string.pack("<c1j", "{", n)
    for k, x in pairs(v) do
      encode(fname, k, out, seen, depth + 1, kept)
      encode(fname, x, out, seen, depth + 1, kept)
    end
    seen[v] = nil
  else
    error(string.format("mpi.%s: cannot send a %s (nil, booleans, numbers, strings, tensors "
      .. "and tables of them only)", fname, kind(v)), depth + 4)
  end
end

local function serialise(fname, v, kept)
  local out = {}
  encode(fname, v, out, {}, 0, kept)
  return table.concat(out)
end

local function decode(s, pos, kept)
  local tag = s:sub(pos, pos)
  pos = pos + 1
  if tag == "N" then return nil, pos
  elseif tag == "T" then return true, pos
  elseif tag == "F" then return false, pos
  elseif tag == "I" then return string.unpack("<j", s, pos)
  elseif tag == "D" then return string.unpack("<d", s, pos)
  elseif tag == "S" then return string.unpack("<s4", s, pos)
  elseif tag == "x" then
    local i
    i, pos = string.unpack("<j", s, pos)
    return kept[i], pos
  elseif tag == "X" then
    local dt, nd
    dt, nd, pos = string.unpack("<Bi1", s, pos)
    local shape, numel = {}, 1
    for i = 1, nd do
      shape[i], pos = string.unpack("<j", s, pos)
      numel = numel * shape[i]
    end
    shape[nd + 1] = dt == 1 and "f32" or "f64"
    local t = kairo().empty(table.unpack(shape, 1, nd + 1))
    local nbytes = numel * (dt == 1 and 4 or 8)
    C.tensor_set_bytes(t, s:sub(pos, pos + nbytes - 1))
    return t, pos + nbytes
  elseif tag == "{" then
    local n
    n, pos = string.unpack("<j", s, pos)
    local t = {}
    for _ = 1, n do
      local k, x
      k, pos = decode(s, pos, kept)
      x, pos = decode(s, pos, kept)
      t[k] = x
    end
    return t, pos
  end
  error(string.format("mpi: a corrupt message (tag %q at byte %d)", tag, pos - 1))
end

local function deserialise(s, kept)
  return (decode(s, 1, kept))
end

-- The one-rank world's copy of v, checked as a message would be.
local function copy(fname, v)
  local kept = {}
  return deserialise(serialise(fname, v, kept), kept)
end

-- ----------------------------------------------------------------------------- collectives

function mpi.bcast(v, root)
  decide("bcast")
  check_root("bcast", root)
  if is_tensor(v) then
    check_buffer("bcast", v)
    if world == "mpi" then raise(pcall(C.bcast_tensor, v, root)) end
    return v
  end
  if world == "single" then return copy("bcast", v) end
  local mine = C.rank() == root and serialise("bcast", v) or nil
  raise(pcall(C.agree_value, root))
  local got = raise(pcall(C.bcast_bytes, mine, root))
  return deserialise(got)
end

local reduce_ops = { sum = true, max = true, min = true, mean = true }

-- kr.train's gradient step (lua/kairo/distributed.lua): an allreduce "sum" without the
-- agreement, for a buffer every rank is known to pass alike (checked once at the start).
function mpi._allreduce_trusted(t)
  if world == "mpi" then raise(pcall(C.allreduce_tensor, t, "sum", true)) end
  return t
end

function mpi.allreduce(t, op)
  decide("allreduce")
  check_buffer("allreduce", t)
  if op ~= nil and not reduce_ops[op] then
    error(string.format("mpi.allreduce: op must be \"sum\", \"max\", \"min\" or \"mean\", "
      .. "got %s", type(op) == "string" and "'" .. op .. "'" or kind(op)), 2)
  end
  if world == "mpi" then raise(pcall(C.allreduce_tensor, t, op or "sum")) end
  return t
end

local function unpack_all(parts)
  local out = {}
  for r = 1, #parts do out[r] = deserialise(parts[r]) end
  return out
end

function mpi.gather(v, root)
  decide("gather")
  check_root("gather", root)
  if world == "single" then return { copy("gather", v) } end
  local s = serialise("gather", v)
  local parts = raise(pcall(C.gather_bytes, s, root))
  return parts and unpack_all(parts) or nil
end

function mpi.allgather(v)
  decide("allgather")
  if world == "single" then return { copy("allgather", v) } end
  local s = serialise("allgather", v)
  local parts = raise(pcall(C.allgather_bytes, s))
  return unpack_all(parts)
end

-- ------------------------------------------------------------------------------ work queue

local closer = setmetatable({}, { __close = function()
  if world == "mpi" then C.queue_close() end
end })

function mpi.work(n)
  decide("work")
  if math.type(n) ~= "integer" or n < 0 then
    error(string.format("mpi.work: n must be an integer >= 0, got %s",
      type(n) == "number" and tostring(n) or kind(n)), 2)
  end
  if world == "single" then
    local i = 0
    return function()
      if i < n then i = i + 1; return i end
    end, nil, nil, nil
  end
  C.queue_open(n)
  return function() return C.queue_next() end, nil, nil, closer
end

return mpi
