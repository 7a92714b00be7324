#!/usr/bin/env bash
# The chapter report in headless Chromium: report/chapter.lua --quick on a few experiments
# (the full `make chapter` takes minutes), then out/index.html is opened: every image loads,
# nothing is logged to the console, and a screenshot is saved to out/chapter-test/index.png.
# The image check is a copy of the page with a script appended (the page has none), so the
# images are the page's own relative links; it is shown to fail on a page with a broken image.
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
passed=0 failed=0
check() { local what=$1; shift; if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $what"; fi; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
    echo "FAIL: chromium is missing (make deps installs Debian's chromium)"; echo "0 passed, 1 failed"; exit 0
fi
out=$root/out/chapter-test
rm -rf "$out"; mkdir -p "$out"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$root"
nice lua5.4 report/chapter.lua --quick --only ${CHAPTER_TEST_ONLY:-saxe,svd_image,spiral,zipser_andersen,deep_linear} \
    --out "$out" >"$tmp/run.log" 2>&1
rc=$?
check "report/chapter.lua --quick runs (status $rc): $(tail -2 "$tmp/run.log" | tr '\n' ' ')" test $rc = 0
check "it wrote index.html" test -s "$out/index.html"
n_img=$(grep -o '<img ' "$out/index.html" | wc -l)
check "the page shows figures ($n_img)" test "$n_img" -ge 10
check "the page has no script and no network link" sh -c "! grep -Eiq '<script|https?://' '$out/index.html'"
check "the page marks references" grep -q 'class="met"' "$out/index.html"

run_browser() { # url, extra flags...: prints the DOM, chromium's log in $tmp/browser.err
    local url=$1; shift
    timeout 60 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$(mktemp -d -p "$tmp")" --enable-logging=stderr --v=0 \
        --virtual-time-budget=5000 "$@" "$url" 2>"$tmp/browser.err"
}
# The page's copy with a checker that waits for the load, then reports each image.
cat >"$tmp/checker.js" <<'JS'
<script>
var bad = []; window.addEventListener("error", function (e) { bad.push("error: " + (e.target.src || e.message)); }, true);
window.addEventListener("load", function () {
  var imgs = document.images, ok = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (imgs[i].complete && imgs[i].naturalWidth > 0) ok++; else bad.push("not loaded: " + imgs[i].src);
  }
  var p = document.createElement("pre"); p.id = "kairo-check";
  p.textContent = "IMAGES " + ok + "/" + imgs.length + " PROBLEMS " + bad.length + " " + bad.join(" ");
  document.body.appendChild(p);
});
</script>
JS
sed "/<\/body>/e cat $tmp/checker.js" "$out/index.html" >"$out/check.html"
dom=$(run_browser "file://$out/check.html" --dump-dom)
line=$(printf '%s\n' "$dom" | grep -o 'IMAGES [0-9]*/[0-9]* PROBLEMS [0-9]*' | head -1)
check "every image loads in Chromium ($line)" test "$line" = "IMAGES $n_img/$n_img PROBLEMS 0"
# The same check on a copy with one broken image must fail (so the check can fail).
sed 's#<img src="\([^"]*\)"#<img src="missing-\1"#' "$out/check.html" >"$out/broken.html"
dom=$(run_browser "file://$out/broken.html" --dump-dom)
line=$(printf '%s\n' "$dom" | grep -o 'IMAGES [0-9]*/[0-9]* PROBLEMS [0-9]*' | head -1)
check "a broken image is caught ($line)" sh -c "echo '$line' | grep -q 'PROBLEMS [1-9]'"
rm -f "$out/check.html" "$out/broken.html"
# The page itself: no console message of any kind, and a screenshot.
run_browser "file://$out/index.html" --screenshot="$out/index.png" --window-size=1280,3000 \
    --hide-scrollbars >/dev/null
console=$(grep -i 'CONSOLE\|Failed to load\|ERR_FILE' "$tmp/browser.err" || true)
check "no console messages: $console" test -z "$console"
check "a screenshot was saved ($out/index.png)" sh -c "test -s '$out/index.png' && file '$out/index.png' | grep -q 'PNG image'"
echo "$passed passed, $failed failed"
