"""`segviewer info ROOT`: which layout a folder holds, its label scheme, splits, image size and problems."""

from __future__ import annotations

import argparse
import json

MAX_LISTED = 50  # problems printed in the human-readable report; --json lists them all

MASK_KINDS = {
    "train_ids": "training ids",
    "ids": "class ids of the scheme (colour PNGs mapped through its palette)",
    "palette": "palette PNGs, index = training id",
    "color": "colours of the scheme's palette",
    "none": "none (unlabelled images or video frames)",
}


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "info",
        help="show a data set's layout, label scheme, splits and problems",
        description="Detect the layout of ROOT (BDD100K 10K or 2018, Cityscapes, CamVid, or a plain images/ + "
        "masks/ folder) and summarise it. Only file names are read unless --check is given.",
    )
    p.add_argument("root", metavar="ROOT", help="the data set's folder")
    p.add_argument(
        "--scheme",
        metavar="NAME|JSON",
        help="label scheme of a plain folder's masks: bdd100k (default), bdd100k-full, cityscapes, camvid, "
        "or a JSON scheme file; the other layouts fix their own",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument(
        "--check", action="store_true", help="open every image and mask and list the problems (slow)"
    )
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from segviewer.core.check import check_dataset, listing_problems
    from segviewer.core.datasets import open_dataset

    ds = open_dataset(args.root, args.scheme)
    if args.check:
        from segviewer.commands.progress import ProgressBar

        with ProgressBar("checking", unit="samples") as bar:
            problems = check_dataset(ds, progress=bar)
    else:
        problems = listing_problems(ds)
    summary = summarize(ds)
    summary["checked"] = bool(args.check)
    summary["problems"] = [p.to_json() for p in problems]
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(format_summary(summary))
    return 0


def summarize(ds) -> dict:
    """JSON-ready facts about a data set; image sizes come from file headers, nothing is decoded."""
    sizes = {name: _first_size(ds, samples) for name, samples in ds.splits.items()}
    first = next((s for s in sizes.values() if s is not None), None)
    return {
        "root": str(ds.root),
        "format": ds.format,
        "scheme": ds.file_scheme.name,
        "scheme_description": ds.file_scheme.description,
        "num_classes": ds.scheme.num_classes,
        "training_scheme": ds.scheme.name,
        "ignore_index": ds.scheme.ignore_index,
        "mask_kind": ds.mask_kind,
        "splits": {
            name: {"images": len(samples), "masks": sum(s.mask is not None for s in samples)}
            for name, samples in ds.splits.items()
        },
        "image_size": first,
        "image_sizes": sizes,
        "corrections": _corrections(ds),
    }


def _corrections(ds) -> dict:
    """How many samples of each split use a correction, and where corrections are saved."""
    counts = {name: sum(s.corrected for s in samples) for name, samples in ds.splits.items()}
    return {
        "samples": sum(counts.values()),
        "splits": {name: n for name, n in counts.items() if n},
        "folder": str(ds.corrections) if ds.corrections else None,
    }


def format_summary(summary: dict) -> str:
    scheme = f"{summary['scheme']} ({summary['num_classes']} classes, ignore {summary['ignore_index']})"
    if summary["training_scheme"] != summary["scheme"]:
        scheme = f"{summary['scheme']} mapped to {summary['training_scheme']} ({summary['num_classes']} training classes)"
    if summary.get("scheme_description"):
        scheme += f": {summary['scheme_description']}"
    lines = [
        f"data set   {summary['root']}",
        f"format     {summary['format']}",
        f"scheme     {scheme}",
        f"masks      {MASK_KINDS.get(summary['mask_kind'], summary['mask_kind'])}",
        "",
        f"{'split':<10} {'images':>7} {'masks':>7}  image size",
    ]
    for name, counts in summary["splits"].items():
        size = summary["image_sizes"].get(name)
        shown = f"{size[0]}x{size[1]}" if size else "unknown"
        lines.append(f"{name:<10} {counts['images']:>7} {counts['masks']:>7}  {shown}")
    lines.append("")
    fixed = summary["corrections"]
    if fixed["samples"]:
        per_split = ", ".join(f"{n} {name}" for name, n in fixed["splits"].items())
        lines.append(f"corrected  {fixed['samples']} samples ({per_split}) in {fixed['folder']}")
    else:
        lines.append("corrected  none")
    problems = summary["problems"]
    where = "after opening every file" if summary["checked"] else "while listing (--check opens every file)"
    if not problems:
        lines.append(f"problems   none found {where}")
    else:
        lines.append(f"problems   {len(problems)} found {where}:")
        lines += [f"  {p['path']}: {p['message']}" for p in problems[:MAX_LISTED]]
        if len(problems) > MAX_LISTED:
            lines.append(f"  ... and {len(problems) - MAX_LISTED} more (--json lists them all)")
    return "\n".join(lines)


def _first_size(ds, samples) -> list[int] | None:
    from segviewer.core.imageio import ImageReadError, image_size

    if not samples:
        return None
    if samples[0].frame is not None:
        return list(ds.frame_source().size)
    try:
        return list(image_size(samples[0].image))
    except ImageReadError:
        return None
