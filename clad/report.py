"""Run records -> one tidy DataFrame -> tables, ablation plots, W&B (sweep.py is the thin CLI).

Each run folder holds metrics.json (clad/record.py, clad/experiment.py) and the config it ran with (config.yaml,
or Hydra's .hydra/config.yaml for older runs), joined as dotted columns (`detector.n_clusters`),
so nothing is parsed from folder names. Aggregation never merges different experiments: a table
cell is the requested columns plus every config value that differs between the runs of a cell
(except the seed and paths), the same run is never counted twice, a repeated seed is flagged, and
cells whose runs all failed stay in the table. Numbers stay numeric; "mean ± std" is only rendered.
"""

from __future__ import annotations

import io
import json
import logging
import os
import platform
import shlex
import sys
from pathlib import Path

import pandas as pd
import yaml
from omegaconf import OmegaConf

from clad.record import process_alive
from clad.tables import mean_std

log = logging.getLogger(__name__)

NOT_OK = ("failed", "killed", "running", "stale", "corrupt")
# Config columns that never split a cell: where a run wrote, logged or found its data, how it ran (threads, bars,
# saving), and the budget group, whose values each detector and dataset reads are resolved into their own columns
# (detector.ae_epochs, dataset.max_train_per_class), so a budget key another detector reads changes nothing here.
IGNORED_PREFIXES = ("paths.", "hydra.", "logger.", "budget.", "dataset.root", "dataset.cache_dir")
IGNORED_KEYS = ("threads", "progress", "save_model", "rescore", "tags")


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value if not isinstance(value, list) else str(value)
    return out


def _read_record(path: Path) -> dict:
    """One run's row: its metrics, or a `corrupt` record naming the file."""
    try:
        return json.loads(path.read_text())
    except (ValueError, OSError) as err:
        log.warning("%s is not readable (%s); counted as corrupt", path, err)
        return {"status": "corrupt", "error": f"unreadable metrics.json: {err}"}


def load_runs(*roots: str | Path) -> pd.DataFrame:
    """One row per run: its metrics.json plus its config as dotted columns (`runs.attrs["config_columns"]`).

    A `running` record whose process is gone (same host) becomes `stale`. The same run reached twice
    (a folder passed twice, nested roots, a copied folder) is refused."""
    rows, config_columns, seen, ids = [], set(), {}, {}
    for root in roots:
        for path in sorted(Path(root).rglob("metrics.json")):
            folder = path.parent.resolve()
            if folder in seen:
                raise ValueError(
                    f"run {path.parent} is reached twice (roots {seen[folder]} and {root} overlap); pass each sweep folder once"
                )
            seen[folder] = root
            row = _read_record(path)
            if row.get("run_id") in ids:
                raise ValueError(
                    f"runs {ids[row['run_id']]} and {path.parent} are the same run (run_id {row['run_id']}): a copied folder?"
                )
            if row.get("run_id"):
                ids[row["run_id"]] = path.parent
            config = path.parent / "config.yaml"
            if not config.exists():
                config = path.parent / ".hydra" / "config.yaml"
            if config.exists():
                flat = _flatten(_read_config(config))
                config_columns.update(flat)
                row.update({k: v for k, v in flat.items() if k not in row})
            if row.get("status") == "running" and process_alive(row.get("host"), row.get("pid")) is False:
                row["status"] = "stale"
            row["run_dir"] = str(path.parent)
            row["sweep_root"] = str(root)
            rows.append(row)
    if not rows:
        raise FileNotFoundError(
            f"no metrics.json under {[str(r) for r in roots]}; pass the folder of a `python run.py -m` sweep"
        )
    runs = pd.DataFrame(rows)
    if (
        "seed" in runs
        and runs["seed"].map(lambda v: v is None or isinstance(v, int) or (isinstance(v, float) and v != v)).all()
    ):
        runs["seed"] = runs["seed"].astype("Int64")  # a failed record without a seed must not turn 0, 1 into 0.0, 1.0
    runs.attrs["config_columns"] = sorted(config_columns & set(runs.columns))
    return runs


def drop_kept(runs: pd.DataFrame, detectors: list[str] | tuple[str, ...]) -> pd.DataFrame:
    """`runs` without the kept rows (`keep_runs`) of `detectors`: runs that the roots supersede, e.g. a detector
    re-run at a new default, so that a cell never mixes the old runs with the new."""
    if not detectors or "kept_from" not in runs:
        return runs
    dropped = runs["kept_from"].notna() & runs["detector"].isin(list(detectors))
    log.info("left out %d kept runs of %s (--drop-kept)", int(dropped.sum()), ", ".join(detectors))
    out = runs[~dropped].reset_index(drop=True)
    out.attrs = runs.attrs
    return out


def keep_runs(runs: pd.DataFrame, *csvs: str | Path) -> pd.DataFrame:
    """`runs` plus the rows of earlier `runs.csv` files (sweep.py --out) for tables whose earlier run folders are
    gone (multirun/ is not in git). A row is kept unless it is a run of `runs` (its run_id, or its run_dir, is
    there) or of an earlier file; a job run again in a new folder is a new run, so a failed attempt stays
    reported beside it, as load_runs does with folders. Kept rows carry `kept_from`. Old and new rows go
    through one CSV round trip, so equal settings compare equal (10 and 10.0, None and empty) and cells never
    split on how a value was stored."""
    config_columns = set(runs.attrs.get("config_columns", []))
    frames = [runs]
    seen = {c: set(runs[c].dropna().map(str)) if c in runs else set() for c in ("run_id", "run_dir")}
    seen["run_dir"] = {relative_path(d) for d in seen["run_dir"]}
    for path in csvs:
        old = pd.read_csv(path)
        known = pd.Series(False, index=old.index)
        if "run_dir" in old:
            old["run_dir"] = old["run_dir"].map(lambda d: relative_path(d) if isinstance(d, str) else d)
        for column, values in seen.items():
            if column in old:
                known |= old[column].notna() & old[column].map(str).isin(values)
        kept = old[~known].copy()
        kept["kept_from"] = str(path)
        for column, values in seen.items():
            if column in kept:
                values.update(kept[column].dropna().map(str))
        config_columns |= {c for c in old.columns if "." in c}
        log.info("kept %d of the %d runs of %s (the rest are runs under the roots)", len(kept), len(old), path)
        frames.append(kept)
    text = pd.concat(frames, ignore_index=True).to_csv(index=False)
    merged = pd.read_csv(io.StringIO(text))
    merged.attrs["config_columns"] = sorted(config_columns & set(merged.columns))
    return merged


def kept_lines(csvs: list[Path], prefix: str) -> list[str]:
    """The lines starting with `prefix` ('runs made by: ', 'jobs that never started in ') of the table.md
    beside each kept runs.csv (sweep.py writes both), prefix removed."""
    lines = []
    for path in csvs:
        table = Path(path).with_name("table.md")
        if table.exists():
            lines += [line.removeprefix(prefix) for line in table.read_text().splitlines() if line.startswith(prefix)]
    return list(dict.fromkeys(lines))


def _follows(values: pd.Series, seed: pd.Series) -> bool:
    """Whether a config value is the seed in every run (as a number, or as text for a bad seed)."""
    same_number = pd.to_numeric(values, errors="coerce").astype(float) == pd.to_numeric(seed, errors="coerce").astype(
        float
    )
    return bool((same_number | (values.astype(str) == seed.astype(str))).all())


def _read_config(path: Path) -> dict:
    """A run's config. Hydra's .hydra/config.yaml (older runs) is unresolved (`random_state: ${seed}`):
    resolve it, without paths.output_dir (its ${hydra:...} needs a live Hydra)."""
    raw = yaml.safe_load(path.read_text()) or {}
    if path.name == "config.yaml" and path.parent.name != ".hydra":
        return raw
    paths = {k: v for k, v in (raw.get("paths") or {}).items() if k != "output_dir"}  # ${hydra:runtime.output_dir}
    try:
        return OmegaConf.to_container(OmegaConf.create({**raw, "paths": paths}), resolve=True)
    except Exception as err:  # an interpolation this cannot resolve: keep the text
        log.debug("%s: cannot resolve (%s); its values stay unresolved", path, err)
        return raw


def variant_columns(runs: pd.DataFrame, by: list[str]) -> list[str]:
    """Config columns whose value differs between runs of one `by` cell, other than the seed, IGNORED_PREFIXES
    and IGNORED_KEYS, and values that only follow the seed (e.g. detector.random_state: ${seed})."""
    out = []
    for col in runs.attrs.get("config_columns", []):
        if col in by or col in ("seed", *IGNORED_KEYS) or col.startswith(IGNORED_PREFIXES):
            continue
        values = runs[col].astype(str)
        present = runs[col].notna()
        if "seed" in runs and present.any() and _follows(runs.loc[present, col], runs.loc[present, "seed"]):
            continue  # follows the seed wherever it is set
        if (values.groupby([runs[b].astype(str) for b in by]).nunique() > 1).any():
            out.append(col)
    return out


def _label(row: pd.Series, columns: list[str]) -> str:
    short = {c: c.rsplit(".", 1)[-1] for c in columns}
    if len(set(short.values())) < len(columns):
        short = {c: c for c in columns}
    return ", ".join(f"{short[c]}={row[c]}" for c in columns if pd.notna(row[c]))


def summarize(runs: pd.DataFrame, by: list[str], metrics: list[str], split_on_variants: bool = True) -> pd.DataFrame:
    """mean, std and count of each metric per cell over the successful runs, plus how many runs of
    the cell failed, were killed, are running or stale, which seeds repeat, and which warnings.

    With `split_on_variants`, cells are also split on every `variant_columns` (listed in the log and
    carried in a `variant` column), so runs that differ are never averaged together."""
    runs = runs.copy()
    if not (runs["status"] == "ok").any():  # every run failed: a table of failures, not an error
        for m in metrics:
            runs[m] = runs.get(m, float("nan"))
    missing_cols = [c for c in by + metrics if c not in runs.columns]
    if missing_cols:
        raise KeyError(f"columns {missing_cols} are not in the runs; available: {sorted(runs.columns)}")
    extra = variant_columns(runs, by) if split_on_variants else []
    if extra:
        log.info("cells split on %s (they differ between runs of one %s cell)", extra, tuple(by))
    keys = by + extra
    for col in keys:  # group on strings so that None/NaN and lists are cells like any other
        runs[col] = runs[col].map(lambda v: "–" if v is None or (isinstance(v, float) and pd.isna(v)) else v)
    cells = runs.groupby(keys, dropna=False)
    ok = runs[runs["status"] == "ok"]
    table = ok.groupby(keys, dropna=False)[metrics].agg(["mean", "std", "count"])
    table.columns = [f"{m}_{stat}" for m, stat in table.columns]
    table = table.reindex(cells.size().index)  # cells with no successful run stay, with count 0
    for m in metrics:
        table[f"{m}_count"] = table[f"{m}_count"].fillna(0).astype(int)
    seeds = ok.groupby(keys, dropna=False)["seed"].agg(lambda s: " ".join(map(str, sorted(set(s)))))
    table["seeds"] = seeds.reindex(table.index).astype(object).fillna("")
    repeats = ok.groupby(keys, dropna=False)["seed"].agg(
        lambda s: " ".join(map(str, sorted(s[s.duplicated()].unique())))
    )
    table["repeated_seeds"] = repeats.reindex(table.index).astype(object).fillna("")
    for status in NOT_OK:
        table[status] = (
            runs[runs["status"] == status].groupby(keys, dropna=False).size().reindex(table.index).fillna(0).astype(int)
        )
    if "warnings" in runs:
        codes = (
            ok["warnings"]
            .fillna("")
            .groupby([ok[k] for k in keys], dropna=False)
            .agg(
                lambda w: ", ".join(
                    f"{c} ({n})" for c, n in pd.Series([c for s in w for c in s.split(",") if c]).value_counts().items()
                )
            )
        )
        table["warnings"] = codes.reindex(table.index).fillna("")
    table = table.reset_index()
    if extra:
        table.insert(len(by), "variant", [_label(r, extra) for _, r in table.iterrows()])
    _log_problems(table, keys, ok)
    return table


def _seed_list(seeds: set[str]) -> list:
    """Seeds (kept as text to survive a bad seed) shown as numbers where they are."""
    return sorted(
        (int(x) if x.lstrip("-").isdigit() else x for x in seeds), key=lambda v: (isinstance(v, str), str(v).zfill(12))
    )


def _log_problems(table: pd.DataFrame, keys: list[str], ok: pd.DataFrame) -> None:
    all_seeds = set(map(str, ok["seed"]))
    for _, row in table.iterrows():
        cell = tuple(row[k] for k in keys)
        have = set(str(row["seeds"]).split())
        if have != all_seeds:
            log.warning("cell %s has seeds %s, missing %s", cell, _seed_list(have), _seed_list(all_seeds - have))
        if row["repeated_seeds"]:
            log.warning(
                "cell %s holds seed(s) %s more than once (the same experiment run twice?)", cell, row["repeated_seeds"]
            )
        counts = {s: int(row[s]) for s in NOT_OK if row[s]}
        if counts:
            log.warning("cell %s: %s", cell, ", ".join(f"{n} {s}" for s, n in counts.items()))


def render(table: pd.DataFrame, by: list[str], metrics: list[str], scale: float = 100.0) -> pd.DataFrame:
    """A copy with 'mean ± std' strings (`mean_std`) for printing only: rates times `scale` (AUROC in %),
    timings (`*_seconds`) as they are; problems and warnings in words."""
    cols = by + (["variant"] if "variant" in table else [])
    out = table[cols].copy()
    for m in metrics:
        k = 1.0 if m.endswith("_seconds") else scale
        out[m] = [
            "–" if pd.isna(mu) else mean_std(k * mu, k * sd) for mu, sd in zip(table[f"{m}_mean"], table[f"{m}_std"])
        ]
    out["n"] = table[f"{metrics[0]}_count"].astype(int)
    out["seeds"] = table["seeds"]
    out["not ok"] = [", ".join(f"{int(r[s])} {s}" for s in NOT_OK if r[s]) for _, r in table.iterrows()]
    if table["repeated_seeds"].astype(bool).any():
        out["repeated seeds"] = table["repeated_seeds"]
    if "warnings" in table and table["warnings"].astype(bool).any():
        out["warnings"] = table["warnings"]
    return out


def log_to_wandb(table: pd.DataFrame, project: str, mode: str, dir: str, images: list[Path] = ()) -> None:
    """The summary table as a W&B Table and the figures as images; its files go into `dir` (the
    first sweep folder), not the cwd."""
    import wandb

    run = wandb.init(project=project, mode=mode, dir=dir, job_type="sweep-summary")
    try:
        run.log(
            {
                "summary": wandb.Table(dataframe=table),
                **{f"figures/{Path(p).stem}": wandb.Image(str(p)) for p in images},
            }
        )
    finally:
        run.finish()


def _sweep_overrides(path: Path) -> list[str]:
    hydra = (yaml.safe_load(path.read_text()) or {}).get("hydra", {})
    return [a for a in hydra.get("overrides", {}).get("task", []) if a != "hydra.mode=MULTIRUN"], hydra


def sweep_commands(roots: list[str]) -> list[str]:
    """The `python run.py -m ...` lines that made the runs, read from Hydra's multirun.yaml files."""
    lines = []
    for root in roots:
        for path in sorted(Path(root).rglob("multirun.yaml")):
            args, hydra = _sweep_overrides(path)
            args += [a for a in hydra.get("overrides", {}).get("hydra", []) if a != "hydra.mode=MULTIRUN"]
            lines.append("python run.py -m " + " ".join(shlex.quote(a) for a in args))
    return lines


def missing_jobs(roots: list[str]) -> dict[str, list[str]]:
    """For each sweep under `roots`, the jobs of its own job list (expanded from multirun.yaml as
    Hydra's basic sweeper does) that left no folder at all: the sweep stopped before they started."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper  # the expansion Hydra itself uses
    from hydra.core.override_parser.overrides_parser import OverridesParser

    out = {}
    for root in roots:
        for path in sorted(Path(root).rglob("multirun.yaml")):
            args, hydra = _sweep_overrides(path)
            params = hydra.get("sweeper", {}).get("params") or {}
            try:
                overrides = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()] + args)
                n = sum(len(batch) for batch in BasicSweeper.split_arguments(overrides, None))
            except Exception as err:  # a sweep this cannot expand is reported, never guessed
                log.warning("cannot list the jobs of %s (%s)", path.parent, err)
                continue
            subdir = str(hydra.get("sweep", {}).get("subdir", "${hydra.job.num}"))
            if subdir != "${hydra.job.num}":
                continue  # only job-numbered folders can be matched to the job list
            gone = [str(i) for i in range(n) if not (path.parent / str(i)).exists()]  # Hydra makes it as the job starts
            if gone:
                out[str(path.parent)] = gone
                log.warning(
                    "sweep %s: %d of %d jobs never started (jobs %s)", path.parent, len(gone), n, " ".join(gone)
                )
    return out


def relative_path(path: str) -> str:
    """A path as seen from the working directory (the repository when run from it), so result files
    never name a folder only this machine has."""
    return os.path.relpath(path) if os.path.isabs(str(path)) else str(path)


def relative_command(line: str) -> str:
    """A command line with every absolute path in it, an argument or the value of a `key=value`
    override (hydra.sweep.dir=/home/...), made relative as `relative_path` does."""

    def relative_arg(arg: str) -> str:
        key, eq, value = arg.partition("=")
        return f"{key}={relative_path(value)}" if eq and os.path.isabs(value) else relative_path(arg)

    return " ".join(shlex.quote(relative_arg(a)) for a in shlex.split(line))


def commits(runs: pd.DataFrame) -> list[str]:
    """The git commits the runs were made at (warned about when more than one)."""
    if "git_commit" not in runs:
        return []
    found = sorted(set(runs["git_commit"].dropna()))
    if len(found) > 1:
        log.warning("the runs come from %d different commits: %s", len(found), ", ".join(c[:7] for c in found))
    return found


def wall_times(runs: pd.DataFrame) -> list[str]:
    """Per sweep folder: from its first run's start to its last run's end (UTC, from the run records), and
    its runs' summed fit and score seconds. The span includes any pause between pieces of the sweep."""
    lines = []
    if not {"started_at", "finished_at", "sweep_root"} <= set(runs.columns):
        return lines
    for root, group in runs.groupby("sweep_root", sort=False):
        start = pd.to_datetime(group["started_at"], utc=True, errors="coerce").min()
        end = pd.to_datetime(group["finished_at"], utc=True, errors="coerce").max()
        if pd.isna(start) or pd.isna(end):
            continue
        minutes = (end - start).total_seconds() / 60
        busy = sum(group[c].fillna(0).sum() for c in ("fit_seconds", "score_seconds") if c in group)
        lines.append(
            f"{root}: {start:%Y-%m-%dT%H:%M}Z to {end:%Y-%m-%dT%H:%M}Z ({minutes:.0f} min), {len(group)} runs, "
            f"{busy / 60:.0f} min of fitting and scoring"
        )
    return lines


def has_runs(folder: str, runs: pd.DataFrame) -> bool:
    """Whether a run of `runs` lies in `folder` (a sweep dir named in a command or a caption). Either side may be
    absolute or relative to another folder, so the last two parts of `folder` are looked for, in order, among each
    run_dir's folders: `multirun/t/mix` is not `multirun/t_s25/mix`, and `multirun/t` is not `multirun/t_linear`."""
    tail = tuple(p for p in Path(folder).parts if p not in ("..", ".", "/"))[-2:]
    for d in runs["run_dir"].dropna().map(str):
        parts = Path(d).parts[:-1]
        if any(parts[i : i + len(tail)] == tail for i in range(len(parts) - len(tail) + 1)):
            return True
    return False


def commands_with_runs(commands: list[str], runs: pd.DataFrame | None) -> list[str]:
    """The kept commands that still made a run of `runs`: a command naming `hydra.sweep.dir=DIR` is left out when no
    run lies in DIR (`has_runs`: its runs were dropped, e.g. by --drop-kept); one without a sweep dir stays."""
    if runs is None or "run_dir" not in runs:
        return commands
    kept = []
    for command in commands:
        dirs = [w.split("=", 1)[1] for w in shlex.split(command) if w.startswith("hydra.sweep.dir=")]
        if not dirs or has_runs(dirs[-1], runs):
            kept.append(command)
    return kept


def provenance(roots: list[str], runs: pd.DataFrame | None = None, kept: list[Path] = ()) -> str:
    """Who made a figure: the commands that made the runs and the table, the data, the commits and the machine.
    `kept`: the runs.csv files of `keep_runs`, whose commands come from the table.md beside each (those whose runs
    are all gone from `runs` left out)."""
    commands = commands_with_runs(kept_lines(kept, "runs made by: "), runs) + sweep_commands(roots)
    made = "".join(f"runs made by: {line}\n" for line in dict.fromkeys(map(relative_command, commands)))
    if runs is not None and "kept_from" in runs:
        for path, n in runs["kept_from"].dropna().value_counts(sort=False).items():
            made += (
                f"kept: {n} runs from {path} (their folders are not in this checkout: their per-class AUROCs and DeLong "
                "tests are the earlier report's rows; a scenario's ROC figure is not redrawn)\n"
            )
    if runs is not None and "data_dir" in runs:
        made += f"data: {', '.join(sorted(set(map(relative_path, runs['data_dir'].dropna()))))} (datasets: {', '.join(sorted(set(runs['dataset'].dropna())))})\n"
    if runs is not None and commits(runs):
        dirty = (
            " (some with uncommitted changes)"
            if runs.get("git_dirty", pd.Series(dtype=object)).fillna(False).astype(bool).any()
            else ""
        )
        made += f"commits: {', '.join(c[:7] for c in commits(runs))}{dirty}\n"
    if runs is not None:
        made += "".join(f"wall time: {line}\n" for line in wall_times(runs))
    return (
        f"{made}"
        f"table made by: python {relative_command(shlex.join(sys.argv))}\n"
        f"runs: {', '.join(map(relative_path, [*map(str, roots), *map(str, kept)]))}\n"
        f"machine: {platform.node()} ({platform.platform()}, {platform.processor() or platform.machine()}, python {platform.python_version()})\n"
    )
