"""``layoutcalc baseline`` and ``check``: exit codes, budgets, and every output format on real values."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pandas as pd
import pytest
from click.testing import CliRunner

from layoutcalc.cli import main


@pytest.fixture(scope="module")
def baseline(pair, tmp_path_factory):
    path = tmp_path_factory.mktemp("baseline") / "old.baseline.json"
    result = CliRunner().invoke(main, ["baseline", str(pair.old), "-o", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output == f"wrote {path}: 6 struct layouts of old.o (dwarf)\n"
    return path


def _check(pair, baseline, *args):
    return CliRunner().invoke(main, ["check", str(pair.new), "--baseline", str(baseline), *args])


def _budget(tmp_path, text):
    path = tmp_path / "budget.toml"
    path.write_text(text)
    return str(path)


def _growth(pair, name):
    return pair.new_layout[name].size - pair.old_layout[name].size


def test_baseline_records_every_struct(pair, baseline):
    data = json.loads(baseline.read_text())
    sizes = {s["name"]: (s["size"], s["cachelines"]) for s in data["structs"]}
    assert sizes == {name: (layout.size, -(-layout.size // 64)) for name, layout in pair.old_layout.items()}
    widget = next(s for s in data["structs"] if s["name"] == "widget")
    offsets = {m[0]: m[2] // 8 for m in widget["members"]}
    assert offsets == {name: offset for name, (offset, _size) in pair.old_layout["widget"].members.items()}


def test_without_budget_any_growth_is_a_regression(pair, baseline):
    result = _check(pair, baseline, "--format", "json")
    assert result.exit_code == 3, result.output
    payload = json.loads(result.output)
    verdicts = {v["name"]: v for v in payload["verdicts"]}
    assert set(verdicts) == {"widget", "big"}
    assert payload["regressions"] == 2
    assert verdicts["widget"]["reasons"][0] == f"grew {_growth(pair, 'widget')} bytes, budget 0"
    assert "cachelines 2 -> 3" in verdicts["big"]["reasons"]
    assert "size class kmalloc-128 -> kmalloc-192" in verdicts["big"]["reasons"]


def test_within_budget_exits_0(pair, baseline, tmp_path):
    budget = _budget(tmp_path, f"""
[defaults]
growth = 0
[struct.widget]
growth = {_growth(pair, 'widget')}
size_class = false
[struct."b*"]
growth = {_growth(pair, 'big')}
cachelines = false
size_class = false
""")
    result = _check(pair, baseline, "--budget", budget)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == f"0 regressions in 2 grown structs (budget {budget})"


def test_one_byte_over_budget_exits_3(pair, baseline, tmp_path):
    budget = _budget(tmp_path, f"""
allow = ["big"]
[struct.widget]
growth = {_growth(pair, 'widget') - 1}
""")
    result = _check(pair, baseline, "--budget", budget, "--format", "json")
    assert result.exit_code == 3
    verdicts = {v["name"]: v for v in json.loads(result.output)["verdicts"]}
    assert verdicts["widget"]["regression"] is True
    assert verdicts["widget"]["reasons"] == [f"grew {_growth(pair, 'widget')} bytes, budget "
                                             f"{_growth(pair, 'widget') - 1}",
                                             "size class kmalloc-32 -> kmalloc-64"]
    assert verdicts["big"]["allowed"] is True and verdicts["big"]["regression"] is False


def test_cacheline_crossing_is_a_regression_within_the_byte_budget(pair, baseline, tmp_path):
    budget = _budget(tmp_path, '[defaults]\ngrowth = 100\nsize_class = false\n')
    result = _check(pair, baseline, "--budget", budget, "--format", "json")
    assert result.exit_code == 3
    verdicts = {v["name"]: v for v in json.loads(result.output)["verdicts"]}
    assert verdicts["big"]["reasons"] == ["cachelines 2 -> 3"]
    assert verdicts["widget"]["reasons"] == []


def test_markdown(pair, baseline):
    result = _check(pair, baseline, "--format", "markdown")
    assert result.exit_code == 3
    lines = result.output.splitlines()
    assert lines[0] == "### layoutcalc check: 2 regressions"
    old, new = pair.old_layout["big"].size, pair.new_layout["big"].size
    assert (f"| `big` | {old} | {new} | +{new - old} | :x: grew {new - old} bytes, budget 0; cachelines 2 -> 3; "
            "size class kmalloc-128 -> kmalloc-192 |") in lines
    assert f"| `doomed` | {pair.old_layout['doomed'].size} | - | -{pair.old_layout['doomed'].size} |  |" in lines


def test_junit(pair, baseline, tmp_path):
    budget = _budget(tmp_path, f"[struct.widget]\ngrowth = {_growth(pair, 'widget')}\nsize_class = false\n")
    result = _check(pair, baseline, "--format", "junit", "--budget", budget)
    assert result.exit_code == 3
    suite = ET.fromstring(result.output).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert cases["widget"].find("failure") is None
    failure = cases["big"].find("failure")
    assert failure.get("message") == (f"grew {_growth(pair, 'big')} bytes, budget 0; cachelines 2 -> 3; "
                                      "size class kmalloc-128 -> kmalloc-192")
    assert "resized  data (char [120] -> char [128]): 120 -> 128 bytes" in failure.text


def test_github_annotations(pair, baseline, tmp_path):
    budget = _budget(tmp_path, f"[struct.big]\ngrowth = {_growth(pair, 'big')}\ncachelines = false\n"
                               "size_class = false\n")
    result = _check(pair, baseline, "--format", "github", "--budget", budget)
    assert result.exit_code == 3
    lines = result.output.splitlines()
    old, new = pair.old_layout["widget"].size, pair.new_layout["widget"].size
    error = next(line for line in lines if line.startswith("::error "))
    assert error.startswith(f"::error title=widget grew {new - old} bytes ({old} -> {new})::grew {new - old} "
                            f"bytes%2C budget 0".replace("%2C", ","))
    assert "%0A  " not in error and "%0Aadded    short int prio;" in error
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(notices) == 1
    assert notices[0].startswith("::notice title=layoutcalc check::1 regression in 2 grown structs; add/remove: ")


def test_unchanged_exits_0(pair, tmp_path):
    path = tmp_path / "new.json"
    assert CliRunner().invoke(main, ["baseline", str(pair.new), "-o", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["check", str(pair.new), "--baseline", str(path)])
    assert result.exit_code == 0
    assert result.output == ("add/remove: 0/0 grow/shrink: 0/0 up/down: 0/0 (0)\n"
                             f"{'struct':<6} {'old':>7} {'new':>7} {'delta':>7}\n"
                             f"Total: Before={sum(x.size for x in pair.new_layout.values())}, "
                             f"After={sum(x.size for x in pair.new_layout.values())}, chg +0.00%\n\n"
                             "0 regressions in 0 grown structs (no budget: any growth is a regression)\n")
    junit = CliRunner().invoke(main, ["check", str(pair.new), "--baseline", str(path), "--format", "junit"])
    suite = ET.fromstring(junit.output).find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("1", "0")
    assert [case.get("name") for case in suite.iter("testcase")] == ["no struct grew (6 compared)"]


def test_shrinking_is_no_regression(pair, tmp_path):
    path = tmp_path / "new.json"
    assert CliRunner().invoke(main, ["baseline", str(pair.new), "-o", str(path), "--struct", "widget"]).exit_code == 0
    result = CliRunner().invoke(main, ["check", str(pair.old), "--baseline", str(path), "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert [(c["name"], c["status"]) for c in payload["changes"]] == [("widget", "shrunk")]
    assert payload["verdicts"] == []


def test_diff_accepts_a_baseline(pair, baseline):
    result = CliRunner().invoke(main, ["diff", str(baseline), str(pair.new), "--format", "json"])
    assert result.exit_code == 0
    assert {c["name"]: c["delta"] for c in json.loads(result.output)["changes"]}["widget"] == _growth(pair, "widget")


@pytest.mark.parametrize("text, problem", [
    ("[struct.widget]\ngrowth = -4\n", "[struct.widget]: 'growth' is a number of bytes, not negative (-4)"),
    ("[struct.widget]\ngrowth = \"8\"\n", "[struct.widget]: 'growth' should be an integer, not '8'"),
    ("[defaults]\ncachelines = 1\n", "[defaults]: 'cachelines' should be true or false, not 1"),
    ("[struct.widget]\ngrow = 8\n", "[struct.widget]: unknown key 'grow' (growth, cachelines, size_class, knock_on)"),
    ("[limits]\n", "unknown key 'limits' (expected [defaults], [struct.NAME] and allow)"),
    ("allow = \"big\"\n", "'allow' should be a list of struct names or globs"),
    ("[struct.widget\n", "not a valid budget: TOML error: "),
])
def test_bad_budget_is_one_line(pair, baseline, tmp_path, text, problem):
    budget = _budget(tmp_path, text)
    result = _check(pair, baseline, "--budget", budget)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {budget}: {problem}")
    assert len(result.output.splitlines()) == 1


@pytest.mark.parametrize("text, problem", [
    ("{\"format\": \"layoutcalc-baseline\", ", "not a baseline: malformed JSON at line 1 column"),
    ("{\"structs\": []}", "not a layoutcalc baseline (no \"format\": \"layoutcalc-baseline\")"),
    ("{\"format\": \"layoutcalc-baseline\", \"version\": 9}", "baseline version 9 is not supported"),
    ("{\"format\": \"layoutcalc-baseline\", \"version\": 1, \"cacheline_size\": 64, \"structs\": "
     "[{\"name\": \"x\", \"kind\": \"struct\", \"size\": \"8\"}]}", "structs[0] (x): 'size' should be int, not str"),
    ("{\"format\": \"layoutcalc-baseline\", \"version\": 1, \"cacheline_size\": 64, \"structs\": "
     "[{\"name\": \"x\", \"kind\": \"struct\", \"size\": 8, \"padding\": 0, \"members\": [[1]], \"holes\": []}]}",
     "structs[0] (x): members are [name, type, bit_offset, size, bit_size]"),
])
def test_bad_baseline_is_one_line(pair, tmp_path, text, problem):
    path = tmp_path / "bad.json"
    path.write_text(text)
    result = CliRunner().invoke(main, ["check", str(pair.new), "--baseline", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: {problem}")
    assert len(result.output.splitlines()) == 1


def test_missing_baseline_option_is_a_usage_error(pair):
    result = CliRunner().invoke(main, ["check", str(pair.new)])
    assert result.exit_code == 2
    assert "Missing option '--baseline'" in result.output


def test_baseline_to_an_unwritable_place_leaves_nothing(pair, tmp_path):
    target = tmp_path / "missing-dir" / "b.json"
    result = CliRunner().invoke(main, ["baseline", str(pair.old), "-o", str(target)])
    assert result.exit_code == 1
    assert result.output == f"Error: {target}: directory {target.parent} does not exist\n"
    assert not (tmp_path / "missing-dir").exists()


def test_failed_baseline_keeps_the_old_file(tmp_path, pair):
    target = tmp_path / "b.json"
    target.write_text("previous")
    junk = tmp_path / "junk.o"
    junk.write_bytes(b"\x7fELF" + b"\0" * 10)
    result = CliRunner().invoke(main, ["baseline", str(junk), "-o", str(target)])
    assert result.exit_code == 1
    assert target.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "junk.o"]


@pytest.mark.realbuild
def test_real_pair_check_exits_3_against_a_baseline_of_47(tmp_path):
    from realbuilds import vmlinux
    old, new = vmlinux("47-cloud-amd64"), vmlinux("50-cloud-amd64")
    path = tmp_path / "47.json"
    assert CliRunner().invoke(main, ["baseline", old, "-o", str(path)]).exit_code == 0
    result = CliRunner().invoke(main, ["check", new, "--baseline", str(path), "--format", "json"])
    assert result.exit_code == 3
    verdicts = {v["name"]: v for v in json.loads(result.output)["verdicts"]}
    assert verdicts["device"]["reasons"] == ["grew 8 bytes, budget 0"]
    assert verdicts["eventpoll"]["reasons"] == ["grew 24 bytes, budget 0", "cachelines 3 -> 4",
                                                "size class kmalloc-192 -> kmalloc-256"]
    largest = max(v["delta"] for v in verdicts.values())
    budget = _budget(tmp_path, f"[defaults]\ngrowth = {largest}\ncachelines = false\nsize_class = false\n")
    within = CliRunner().invoke(main, ["check", new, "--baseline", str(path), "--budget", budget])
    assert within.exit_code == 0, within.output[-500:]


KNOCK_OLD = """
struct inner { long a; };
struct outer { int x; struct inner in; long tail; };
struct outer2 { struct outer o[2]; };
struct lone { int y; };
struct inner i; struct outer o; struct outer2 o2; struct lone l;
"""
KNOCK_NEW = KNOCK_OLD.replace("struct inner { long a; }", "struct inner { long a; long b; }").replace(
    "struct lone { int y; }", "struct lone { int y; long z; }")


@pytest.fixture(scope="module")
def knock_pair(tmp_path_factory):
    from cc import compile_c
    root = tmp_path_factory.mktemp("knock")
    old, new = compile_c(KNOCK_OLD, root, "old"), compile_c(KNOCK_NEW, root, "new")
    path = root / "old.json"
    assert CliRunner().invoke(main, ["baseline", str(old), "-o", str(path)]).exit_code == 0
    return new, path


def _verdicts(result):
    return {v["name"]: v for v in json.loads(result.output)["verdicts"]}


def test_causes_name_the_embedded_struct_that_grew(knock_pair):
    new, base = knock_pair
    verdicts = _verdicts(CliRunner().invoke(main, ["check", str(new), "--baseline", str(base), "--format", "json"]))
    # gcc: sizeof(struct inner) 8 -> 16, struct outer 24 -> 32, struct outer2 48 -> 64.
    assert verdicts["outer"]["causes"] == [{"name": "inner", "member": "in", "bytes": 8}]
    assert verdicts["outer2"]["causes"] == [{"name": "outer", "member": "o", "bytes": 16}]
    assert verdicts["lone"]["causes"] == [] and verdicts["inner"]["causes"] == []
    assert verdicts["outer"]["reasons"] == ["grew 8 bytes, budget 0 (inner grew inside it)"]


def test_knock_on_allows_the_growth_in_embedders_transitively(knock_pair, tmp_path):
    new, base = knock_pair
    budget = _budget(tmp_path, "[struct.inner]\ngrowth = 8\nknock_on = true\nsize_class = false\n")
    result = CliRunner().invoke(main, ["check", str(new), "--baseline", str(base), "--budget", budget,
                                       "--format", "json"])
    verdicts = _verdicts(result)
    assert {name for name, v in verdicts.items() if v["regression"]} == {"lone"}
    assert (verdicts["outer"]["knock_on"], verdicts["outer2"]["knock_on"]) == (8, 16)
    assert result.exit_code == 3
    without = _budget(tmp_path, "[struct.inner]\ngrowth = 8\nsize_class = false\n")
    verdicts = _verdicts(CliRunner().invoke(main, ["check", str(new), "--baseline", str(base), "--budget", without,
                                                   "--format", "json"]))
    assert {name for name, v in verdicts.items() if v["regression"]} == {"lone", "outer", "outer2"}


def test_knock_on_from_a_struct_over_its_own_budget_allows_nothing(knock_pair, tmp_path):
    new, base = knock_pair
    budget = _budget(tmp_path, "[struct.inner]\ngrowth = 4\nknock_on = true\n")
    verdicts = _verdicts(CliRunner().invoke(main, ["check", str(new), "--baseline", str(base), "--budget", budget,
                                                   "--format", "json"]))
    assert verdicts["inner"]["regression"] and verdicts["outer"]["regression"]
    assert verdicts["outer"]["knock_on"] == 0


@pytest.mark.realbuild
def test_real_knock_on_through_struct_device(tmp_path):
    """47 -> 57: platform_device grew 8 bytes only because its struct device did (pahole: 736 -> 744)."""
    from realbuilds import vmlinux
    path = tmp_path / "47.json"
    assert CliRunner().invoke(main, ["baseline", vmlinux("47-cloud-amd64"), "-o", str(path)]).exit_code == 0
    new = vmlinux("57-cloud-amd64")
    verdicts = _verdicts(CliRunner().invoke(main, ["check", new, "--baseline", str(path), "--format", "json"]))
    assert verdicts["platform_device"]["causes"] == [{"name": "device", "member": "dev", "bytes": 8}]
    assert verdicts["platform_device"]["regression"]
    embedders = {name for name, v in verdicts.items() if any(c["name"] == "device" for c in v["causes"])}
    budget = _budget(tmp_path, "[struct.device]\ngrowth = 8\nknock_on = true\n")
    result = CliRunner().invoke(main, ["check", new, "--baseline", str(path), "--budget", budget, "--format", "json"])
    verdicts = _verdicts(result)
    assert not verdicts["platform_device"]["regression"] and verdicts["platform_device"]["knock_on"] == 8
    assert not verdicts["device"]["regression"]
    # Only embedders that grew for another reason too stay regressions (tpm_chip also embeds a grown hwrng).
    still = {name for name in embedders if verdicts[name]["regression"]}
    assert still == {"tpm_chip", "ib_device"}
    assert len(embedders) >= 50


def _slab_change(old_size, new_size, old_figures, new_figures):
    from layoutcalc.features.diff import SlabChange, SlabFigures, StructChange, StructLayout
    old = StructLayout("struct", "pid", old_size, (), (), 0)
    new = StructLayout("struct", "pid", new_size, (), (), 0)
    slab = SlabChange(SlabFigures("pid", "pid", *old_figures), SlabFigures("pid", "pid", *new_figures))
    return StructChange("pid", "grown", old, new, slab=slab)


def test_own_cache_is_judged_by_objects_per_slab_and_order_not_kmalloc():
    from layoutcalc.features.budget import Budget, Rule, judge
    budget = Budget("b.toml", Rule("*", growth=64, cachelines=False), (), ())
    # 96 -> 112 bytes would be kmalloc-96 -> kmalloc-128, but pid has its own cache: 32 per order-0 slab both times.
    same = judge(_slab_change(96, 112, (112, 128, 32, 0), (128, 128, 32, 0)), budget, 64)
    assert same.reasons == ()
    fewer = judge(_slab_change(96, 144, (112, 128, 32, 0), (160, 192, 21, 0)), budget, 64)
    assert fewer.reasons == ("pid cache: 32 -> 21 objects per slab, order 0 -> 0",)


@pytest.mark.realbuild
def test_real_task_struct_within_its_budget_57_to_612(tmp_path):
    """6.1.0-57 -> 6.12: task_struct 9728 -> 9792 (pahole), still 5 objects per order-3 slab."""
    from realbuilds import vmlinux
    path = tmp_path / "57.json"
    assert CliRunner().invoke(main, ["baseline", vmlinux("57-cloud-amd64"), "-o", str(path)]).exit_code == 0
    budget = _budget(tmp_path, "[struct.task_struct]\ngrowth = 64\ncachelines = false\n")
    result = CliRunner().invoke(main, ["check", vmlinux("6.12-cloud-amd64"), "--baseline", str(path),
                                       "--budget", budget, "--format", "json"])
    verdicts = _verdicts(result)
    assert verdicts["task_struct"]["delta"] == 64 and not verdicts["task_struct"]["regression"]
    assert verdicts["pid"]["reasons"] == ["grew 16 bytes, budget 0"]  # no kmalloc-96 -> kmalloc-128


def test_output_writes_several_formats_in_one_run(pair, baseline, tmp_path):
    junit, markdown = tmp_path / "out.xml", tmp_path / "out.md"
    result = _check(pair, baseline, "--format", "github", "--output", f"junit={junit}",
                    "--output", f"markdown={markdown}")
    assert result.exit_code == 3
    assert result.output.startswith("::error title=")
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == "2"
    assert markdown.read_text().startswith("### layoutcalc check: 2 regressions")
    bad = _check(pair, baseline, "--output", "yaml=x")
    assert bad.exit_code == 2 and "'yaml=x' is not FORMAT=FILE" in bad.output


def test_struct_glob_and_struct_list_limit_the_check(pair, baseline, tmp_path):
    only_big = _check(pair, baseline, "--struct", "b?g", "--format", "json")
    assert [v["name"] for v in json.loads(only_big.output)["verdicts"]] == ["big"]
    listing = tmp_path / "structs.txt"
    listing.write_text("# the structs we care about\nwidget\n\nsteady  # unchanged\n")
    from_file = _check(pair, baseline, "--structs-from", str(listing), "--format", "json")
    payload = json.loads(from_file.output)
    assert [v["name"] for v in payload["verdicts"]] == ["widget"] and from_file.exit_code == 3
    typo = _check(pair, baseline, "--struct", "widgte")
    assert typo.exit_code == 1 and "no struct or union matches 'widgte'" in typo.output


def test_budget_rule_naming_no_struct_is_an_error(pair, baseline, tmp_path):
    budget = _budget(tmp_path, "[struct.widgte]\ngrowth = 8\n")
    result = _check(pair, baseline, "--budget", budget)
    assert result.exit_code == 1
    assert result.output == (f"Error: {budget}: [struct.widgte] names no struct or union of old.o or new.o "
                             "(did you mean 'widget'?)\n")
    allow = _budget(tmp_path, 'allow = ["nvme_*"]\n')
    assert "allow entry 'nvme_*' names no struct" in _check(pair, baseline, "--budget", allow).output


def _markdown_result(count):
    """A check with ``count`` grown structs (every one a regression) and long reasons."""
    from layoutcalc.features.budget import check
    from layoutcalc.features.diff import Catalogue, MemberLayout, StructLayout

    def layouts(extra):
        members = tuple(MemberLayout(f"member_{i}", "long int", 64 * i, 8) for i in range(20 + extra))
        return {f"s{n:05d}": (StructLayout("struct", f"s{n:05d}", 8 * len(members) + n % 7 * 8 * extra, members,
                                           (), 0),) for n in range(count)}
    return check(Catalogue("new", "x86_64", 64, "btf", layouts(1), {}),
                 Catalogue("old", "x86_64", 64, "btf", layouts(0), {}))


def test_markdown_fits_a_pull_request_comment_regressions_first():
    from layoutcalc.render.diff import MARKDOWN_LIMIT, check_markdown
    result = _markdown_result(3000)
    text = check_markdown(result)
    assert len(text) <= MARKDOWN_LIMIT
    rows = [line for line in text.splitlines() if line.startswith("| `s")]
    assert 100 < len(rows) < 3000
    assert text.splitlines()[-1] == (f"… and {3000 - len(rows)} more changed structs (not shown: the comment "
                                     f"holds {MARKDOWN_LIMIT} characters; see the JSON output)")
    deltas = [int(row.split("|")[4]) for row in rows]
    assert deltas == sorted(deltas, reverse=True)


def test_github_has_at_most_ten_errors_and_one_notice():
    from layoutcalc.render.diff import check_github
    lines = check_github(_markdown_result(40)).splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    notices = [line for line in lines if line.startswith("::notice ")]
    assert len(notices) == 1 and notices[0].startswith("::notice title=layoutcalc check::40 regressions in 40 "
                                                       "grown structs (30 more not annotated: ")


@pytest.mark.realbuild
def test_real_57_to_612_outputs_fit(tmp_path):
    from realbuilds import vmlinux
    path = tmp_path / "57.json"
    assert CliRunner().invoke(main, ["baseline", vmlinux("57-cloud-amd64"), "-o", str(path)]).exit_code == 0
    budget = _budget(tmp_path, "[struct.task_struct]\ngrowth = 64\ncachelines = false\n")
    markdown, github = tmp_path / "c.md", tmp_path / "c.gh"
    result = CliRunner().invoke(main, ["check", vmlinux("6.12-cloud-amd64"), "--baseline", str(path), "--budget",
                                       budget, "--output", f"markdown={markdown}", "--output", f"github={github}"])
    assert result.exit_code == 3
    text = markdown.read_text()
    assert len(text) <= 65_536
    assert text.splitlines()[-1].startswith("… and ")
    lines = github.read_text().splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    assert sum(line.startswith("::notice ") for line in lines) == 1


def test_check_from_the_api_as_a_frame(knock_pair, tmp_path):
    import layoutcalc
    new, base = knock_pair
    budget = _budget(tmp_path, "[struct.inner]\ngrowth = 8\nknock_on = true\nsize_class = false\n")
    gate = layoutcalc.load(new).check(base, budget)
    frame = gate.frame().set_index("name")
    assert gate.regressions == 1 and frame.loc["lone", "regression"]
    assert (frame.loc["outer", "causes"], frame.loc["outer", "knock_on_bytes"]) == ("inner", 8)
    assert frame.loc["outer", "reasons"] is pd.NA and frame.loc["inner", "causes"] is pd.NA
    assert gate.text("github").count("::error ") == 1
