"""Regulatory networks drawn as layered graphs: one band per connected axis, regulators on the left.

`network_figure` takes one row per edge (numbers and labels only) and returns a Figure. Node shape and
tint show the molecule type; edge colour shows which cell released the vesicles in the primary paper
(Okabe-Ito palette, colour-blind safe); line style shows the evidence status. Each edge carries the
number of its row in the chapter's edge table and the source as a word, so colour is never the only cue.
"""
from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .style import PALETTE

# exosome source -> (colour, short word printed on the edge)
SOURCE_STYLE = {
    "CAF": (PALETTE[3], "CAF"),
    "mesenchymal stem/stromal cell": (PALETTE[0], "MSC"),
    "tumour cell": (PALETTE[2], "TC"),
    "engineered": (PALETTE[4], "EN"),
    "not exosomal": (PALETTE[1], "CM"),
    "unknown": ("#6b6b6b", "?"),
}
SOURCE_NAMES = {"CAF": "cancer-associated fibroblast", "mesenchymal stem/stromal cell": "mesenchymal stem/stromal cell",
                "tumour cell": "tumour cell", "engineered": "engineered vesicles",
                "not exosomal": "conditioned medium, no vesicles", "unknown": "no primary paper"}
# evidence status -> (line style, width, legend label)
STATUS_STYLE = {
    "verified": ("-", 2.2, "primary paper (verified)"),
    "secondary": ((0, (6, 2, 1, 2)), 1.8, "secondary source only"),
    "unverified": ((0, (4, 3)), 1.5, "no primary paper (unverified)"),
}
# molecule type -> (box style, face colour)
NODE_STYLE = {
    "miRNA": ("round,pad=0.35", "#dbe9f6"),
    "lncRNA": ("square,pad=0.35", "#dff0e6"),
    "circRNA": ("square,pad=0.35", "#f3e3ee"),
    "peptide": ("round4,pad=0.35", "#f3e3ee"),
    "gene": ("round4,pad=0.35", "#ffffff"),
    "cytokine": ("round4,pad=0.35", "#fdf1d8"),
    "pathway": ("sawtooth,pad=0.35", "#eeeeee"),
    "cell": ("sawtooth,pad=0.35", "#eeeeee"),
    "vesicle": ("round,pad=0.5", "#fbe3d6"),
}
NODE_LABELS = {"miRNA": "miRNA", "lncRNA": "lncRNA", "circRNA": "circRNA", "peptide": "peptide",
               "gene": "protein-coding gene", "cytokine": "cytokine", "pathway": "pathway / process",
               "cell": "pathway / process", "vesicle": "vesicles (cargo unnamed)"}
SUPPORT_MARK = {"strong": " ★", "weak": " ☆", "absent": " ∅", "non-functional only": " ∅"}
COLUMN_GAP, ROW_GAP = 3.3, 1.0
LEGEND_HEIGHT = 2.95  # inches under the graph for the legends and the key to the edge labels


def _layers(graph: nx.DiGraph) -> dict[str, int]:
    """Column of each node: the length of the longest path reaching it."""
    layer = {}
    for node in nx.topological_sort(graph):
        layer[node] = max((layer[p] + 1 for p in graph.predecessors(node)), default=0)
    return layer


def layout(edges: pd.DataFrame) -> tuple[dict[str, tuple[float, float]], list[tuple[float, float, list[str]]]]:
    """Node positions (x = column, y downwards), and per axis band its (top, bottom, claims)."""
    graph = nx.DiGraph()
    for row in edges.itertuples():
        graph.add_edge(row.regulator_node, row.target_node, number=row.number, claim=row.claim_id)
    first = {node: min(d["number"] for *_, d in graph.edges(node, data=True)) if graph.out_degree(node) else
             min(d["number"] for *_, d in graph.in_edges(node, data=True)) for node in graph}
    components = sorted(nx.weakly_connected_components(graph), key=lambda c: min(first[n] for n in c))
    positions, bands, top = {}, [], 0.0
    for component in components:
        sub = graph.subgraph(component)
        layer = _layers(sub)
        columns = [sorted((n for n in component if layer[n] == i), key=lambda n: first[n])
                   for i in range(max(layer.values()) + 1)]
        height = max(len(c) for c in columns)
        rank = {n: j for column in columns for j, n in enumerate(column)}
        for _ in range(2):  # barycentre ordering: successors follow their predecessors, then the reverse
            for i in range(1, len(columns)):
                columns[i].sort(key=lambda n: (np.mean([rank[p] for p in sub.predecessors(n)]), first[n]))
                rank.update({n: j for j, n in enumerate(columns[i])})
            columns[0].sort(key=lambda n: (np.mean([rank[s] for s in sub.successors(n)]), first[n]))
            rank.update({n: j for j, n in enumerate(columns[0])})
        for i, column in enumerate(columns):
            offset = (height - len(column)) / 2
            for j, node in enumerate(column):
                positions[node] = (i * COLUMN_GAP, top + (offset + j) * ROW_GAP)
        claims = sorted({d["claim"] for *_, d in sub.edges(data=True)})
        skips = any(layer[v] - layer[u] > 1 for u, v in sub.edges)
        height += 0.6 * skips  # room for the curved edges, which bend downwards
        bands.append((top - 0.5 * ROW_GAP, top + (height - 0.5) * ROW_GAP, claims))
        top += (height + 0.45) * ROW_GAP
    return positions, bands


def network_figure(edges: pd.DataFrame, width: float = 6.8) -> plt.Figure:
    """Draw the network. `edges` has one row per edge with columns number, claim_id, regulator_node,
    regulator_type, target_node, target_type, exosome_source, status and support (miRTarBase grade of a
    miRNA -> gene edge, '' otherwise)."""
    positions, bands = layout(edges)
    types = {**dict(zip(edges["regulator_node"], edges["regulator_type"], strict=True)),
             **dict(zip(edges["target_node"], edges["target_type"], strict=True))}
    depth = bands[-1][1] + 0.5 * ROW_GAP
    height = 0.62 * depth + LEGEND_HEIGHT
    fig = plt.figure(figsize=(width, height))
    ax = fig.add_axes((0.13, (LEGEND_HEIGHT - 0.1) / height, 0.85, 1 - LEGEND_HEIGHT / height))
    xmax = max(x for x, _ in positions.values())
    ax.set_xlim(-0.9 * COLUMN_GAP / 2, xmax + 0.9 * COLUMN_GAP / 2)
    ax.set_ylim(depth - 0.5 * ROW_GAP, -0.5 * ROW_GAP)
    ax.axis("off")
    for i, (upper, lower, claims) in enumerate(bands):
        if i % 2 == 0:
            ax.axhspan(upper, lower, color="#f6f6f6", zorder=0)
        ax.text(-0.02, 1 - ((upper + lower) / 2 + 0.5 * ROW_GAP) / depth, "claim\n" + ", ".join(claims),
                transform=ax.transAxes, ha="right", va="center", fontsize=9, color="#444444")
    boxes = {}
    for node, (x, y) in positions.items():
        style, face = NODE_STYLE[types[node]]
        text = ax.text(x, y, "\n".join(textwrap.wrap(node, 13)), ha="center", va="center", fontsize=10, zorder=3,
                       bbox={"boxstyle": style, "fc": face, "ec": "#333333", "lw": 0.9})
        boxes[node] = text
    fig.canvas.draw()
    for row in edges.itertuples():
        _draw_edge(ax, row, positions, boxes)
    _legends(fig, sorted(set(edges["exosome_source"]), key=list(SOURCE_STYLE).index),
             sorted(set(edges["status"]), key=list(STATUS_STYLE).index),
             sorted({NODE_LABELS[t]: t for t in types.values()}.items(), key=lambda kv: list(NODE_STYLE).index(kv[1])))
    return fig


def _draw_edge(ax, row, positions: dict, boxes: dict) -> None:
    """An arrow between two node boxes, curved when it skips a column, labelled with its row number."""
    (x1, y1), (x2, y2) = positions[row.regulator_node], positions[row.target_node]
    colour, word = SOURCE_STYLE[row.exosome_source]
    style, lw, _ = STATUS_STYLE[row.status]
    skips = abs(x2 - x1) > 1.5 * COLUMN_GAP or (x1 == x2)
    rad = 0.3 if skips else 0.0  # positive: bends downwards, into the room left below the band
    ax.annotate("", xy=(x2, y2), xytext=(x1, y1), zorder=2,
                arrowprops={"arrowstyle": "-|>", "color": colour, "lw": lw, "linestyle": style,
                            "mutation_scale": 15, "shrinkA": 3, "shrinkB": 3,
                            "patchA": boxes[row.regulator_node].get_bbox_patch(),
                            "patchB": boxes[row.target_node].get_bbox_patch(),
                            "connectionstyle": f"arc3,rad={rad}"})
    start, end = ax.transData.transform((x1, y1)), ax.transData.transform((x2, y2))
    middle = (start + end) / 2 + 0.5 * rad * np.array([end[1] - start[1], start[0] - end[0]])
    at = ax.transData.inverted().transform(middle)
    label = f"{row.number} {word}{SUPPORT_MARK.get(row.support, '')}"
    ax.text(*at, label, ha="center", va="center", fontsize=9, color=colour, zorder=4, fontweight="bold",
            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9})


def _legends(fig: plt.Figure, sources: list[str], statuses: list[str], node_types: list[tuple[str, str]]) -> None:
    """Three legends under the graph: vesicle source (colour), evidence (line style), molecule type (box)."""
    colour = [Line2D([], [], color=SOURCE_STYLE[s][0], lw=2.4, label=f"{SOURCE_STYLE[s][1]}: {SOURCE_NAMES[s]}")
              for s in sources]
    lines = [Line2D([], [], color="#333333", lw=STATUS_STYLE[s][1], linestyle=STATUS_STYLE[s][0],
                    label=STATUS_STYLE[s][2]) for s in statuses]
    shapes = [Patch(facecolor=NODE_STYLE[t][1], edgecolor="#333333", label=label) for label, t in node_types]
    height = fig.get_figheight()
    for handles, title, (x, top), columns in [(colour, "vesicles released by (edge colour)", (0.0, 2.8), 2),
                                              (lines, "evidence (line style)", (0.0, 1.75), 1),
                                              (shapes, "node (molecule type)", (0.45, 1.75), 2)]:
        fig.legend(handles=handles, title=title, loc="upper left", bbox_to_anchor=(x, top / height), ncols=columns,
                   fontsize=9, title_fontsize=9.5, alignment="left", handlelength=2.4, columnspacing=1.2,
                   frameon=False)
    fig.text(0.01, 0.05 / height, "Edge label: row of the edge table, then the vesicle source.\nmiRTarBase "
             "support of a miRNA → gene edge: ★ strong (reporter assay\nor western blot), ☆ weak only, ∅ none.",
             fontsize=9, va="bottom")
