"""Draws train.py's loss logs as a small SVG line chart (no plotting library here). Several
logs (a run and its continuation runs) are drawn one after the other on one step axis.

    /usr/bin/python3 tools/demo-model/plot_loss.py OUT.svg LOG.json [LOG2.json ...]
"""
import json
import sys

W, H, PAD = 640, 320, 48
TOP = 11.0


def main():
    out, logs = sys.argv[1], [json.load(open(p)) for p in sys.argv[2:]]
    train, val, boundaries, offset = [], [], [], 0
    for log in logs:
        train += [(offset + p['step'], p['loss']) for p in log['train']]
        val += [(offset + p['step'], p['loss']) for p in log['val']]
        offset += log['final']['step'] + 1
        boundaries.append(offset)
    max_step = offset
    x = lambda s: PAD + (W - 2 * PAD) * s / max_step  # noqa: E731
    y = lambda v: H - PAD - (H - 2 * PAD) * min(v, TOP) / TOP  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
             f'<rect width="{W}" height="{H}" fill="white"/>']
    for v in range(0, int(TOP) + 1, 2):
        parts.append(f'<line x1="{PAD}" y1="{y(v):.1f}" x2="{W - PAD}" y2="{y(v):.1f}" stroke="#eee"/>')
        parts.append(f'<text x="{PAD - 8}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
    for s in range(0, max_step + 1, 500):
        parts.append(f'<text x="{x(s):.1f}" y="{H - PAD + 16}" text-anchor="middle">{s}</text>')
    for b in boundaries[:-1]:
        parts.append(f'<line x1="{x(b):.1f}" y1="{PAD}" x2="{x(b):.1f}" y2="{H - PAD}" stroke="#999" stroke-dasharray="4 4"/>')
        parts.append(f'<text x="{x(b) + 4:.1f}" y="{PAD + 12}" fill="#666">continuation run</text>')
    parts += [f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#333"/>',
              f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#333"/>']
    for points, colour in ((train, '#1f77b4'), (val, '#d62728')):
        path = ' '.join(f'{x(s):.1f},{y(v):.1f}' for s, v in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
    final = logs[-1]['final']
    parts += [f'<text x="{W - PAD}" y="{PAD - 22}" text-anchor="end" fill="#1f77b4">training loss (one batch)</text>',
              f'<text x="{W - PAD}" y="{PAD - 8}" text-anchor="end" fill="#d62728">validation loss (final {final["val_loss"]})</text>',
              f'<text x="{W / 2}" y="{H - 10}" text-anchor="middle">step</text>',
              f'<text x="{PAD}" y="{PAD - 22}">cross-entropy, nats/token</text>', '</svg>']
    with open(out, 'w') as f:
        f.write('\n'.join(parts) + '\n')


if __name__ == '__main__':
    main()
