"""Trains the vn-plate-ocr recogniser on synthetic plates (synth.py), exports it to ONNX and writes
its card. CPU only (Debian's python3-torch), one thread by default, deterministic by seed.

    /usr/bin/python3 models/vn-plate-ocr/train/train.py [--seed 1] [--samples 120000] [--epochs 6] ...

The model reads the whole plate crop in one pass. A crop is resized (stretched) to 48 x 144 grey;
a small CNN brings the height down to 2 feature rows of 36 columns each (the last convolution sees
the whole height from both rows), and the two rows are laid end to end into one sequence of 72 steps
(top row left to right, then bottom row) read by dilated 1-D convolutions with a CTC head. A two-row
plate's label is 'row1|row2': the net learns to spell the top row, emit the row-break symbol, then
spell the bottom row, so the reading says where the rows split; a one-row plate has no '|'. This
avoids a row splitter in front of the net (one more thing to fail on skewed or tightly cropped
plates) and costs one pass per plate whatever its layout.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

GENERATOR_VERSION = 4  # bump when synth.py changes what a (seed, index) sample looks like
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
MODEL_DIR = os.path.join(ROOT, 'models', 'vn-plate-ocr', '2')
CACHE_DIR = os.path.join(ROOT, 'data', 'train', 'vn-plate-ocr')


class PlateReader(nn.Module):
    def __init__(self, classes: int, hidden: int = 128):
        super().__init__()

        def block(cin, cout):
            return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))

        self.cnn = nn.Sequential(
            block(1, 16), nn.MaxPool2d(2),  # 24 x 72
            block(16, 32), nn.MaxPool2d(2),  # 12 x 36
            block(32, 64), nn.MaxPool2d((2, 1)),  # 6 x 36
            block(64, 96), nn.MaxPool2d((3, 1)),  # 2 x 36
            block(96, 96),  # each of the 2 rows sees both (3x3 over 2 rows)
        )
        # Sequence context: 1-D convolutions along the 72 steps (an LSTM here cost more than the
        # whole CNN to train on one CPU thread; the receptive field below spans 15 steps).
        self.seq = nn.Sequential(
            nn.Conv1d(96, hidden, 3, padding=1, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, hidden, 3, padding=2, dilation=2, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
            nn.Conv1d(hidden, hidden, 3, padding=4, dilation=4, bias=False), nn.BatchNorm1d(hidden), nn.ReLU(inplace=True),
        )
        self.head = nn.Conv1d(hidden, classes, 1)

    def forward(self, x):  # x: N x 1 x 48 x 144, normalised
        f = self.cnn(x)  # N x C x 2 x 36
        n, c, h, w = f.shape
        seq = f.reshape(n, c, h * w)  # row-major: top row then bottom row
        return self.head(self.seq(seq)).permute(0, 2, 1)  # N x T x classes (logits)


class Exported(nn.Module):
    """Inference graph: grey 0-255 → normalised → softmax probabilities."""

    def __init__(self, net: PlateReader):
        super().__init__()
        self.net = net

    def forward(self, image):
        return F.softmax(self.net(image), dim=2)


def normalise(u8: torch.Tensor) -> torch.Tensor:
    return (u8.float() - 127.5) / 127.5


CHUNK = 2000


def make_chunk(job: tuple[int, int, int]) -> tuple[int, np.ndarray, list[str]]:
    """Samples start..end-1 of a seed (each from its own generator: the same whatever the process).
    A whole chunk is kept on disk, so an interrupted or smaller run's chunks serve a later, larger one."""
    seed, start, end = job
    path = os.path.join(CACHE_DIR, 'chunks', f'g{GENERATOR_VERSION}-seed{seed}-{start}-{end}.npz')
    if os.path.exists(path):
        z = np.load(path)
        return start, z['images'], json.loads(str(z['labels']))
    images = np.zeros((end - start, synth.INPUT_H, synth.INPUT_W), dtype=np.uint8)
    labels = []
    for i in range(start, end):
        x, lab, _ = synth.make_sample(seed, i)
        images[i - start] = x
        labels.append(lab)
    if end - start == CHUNK:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.savez(path + '.tmp.npz', images=images, labels=np.array(json.dumps(labels)))
        os.replace(path + '.tmp.npz', path)
    return start, images, labels


def make_cache(seed: int, count: int, label: str, workers: int = 1) -> tuple[np.ndarray, list[str]]:
    os.makedirs(CACHE_DIR, exist_ok=True)
    stem = os.path.join(CACHE_DIR, f'{label}-g{GENERATOR_VERSION}-seed{seed}-n{count}')
    if os.path.exists(stem + '.npy') and os.path.exists(stem + '.json'):
        print(f'[data] {label}: {count} samples from cache {os.path.relpath(stem, ROOT)}.npy', flush=True)
        return np.load(stem + '.npy'), json.load(open(stem + '.json'))
    images = np.zeros((count, synth.INPUT_H, synth.INPUT_W), dtype=np.uint8)
    labels: list[str] = [''] * count
    t0 = time.time()
    jobs = [(seed, a, min(count, a + CHUNK)) for a in range(0, count, CHUNK)]
    done = 0

    def take(result) -> None:
        nonlocal done
        start, im, lab = result
        images[start:start + len(lab)] = im
        labels[start:start + len(lab)] = lab
        done += len(lab)
        el = time.time() - t0
        print(f'[data] {label}: {done}/{count} samples, {el:.0f} s, eta {el / done * (count - done):.0f} s', flush=True)

    if workers > 1:
        import multiprocessing as mp
        with mp.get_context('fork').Pool(workers) as pool:
            for r in pool.imap_unordered(make_chunk, jobs):
                take(r)
    else:
        for j in jobs:
            take(make_chunk(j))
    np.save(stem + '.npy', images)
    json.dump(labels, open(stem + '.json', 'w'))
    return images, labels


def augment(u8: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Cheap per-batch variety on top of the cached samples (deterministic by the generator): a shift
    of up to 3 px across and 2 px down or up (edge pixels repeated), contrast and brightness, and one
    plate in ten inverted (light text on a dark plate)."""
    x = u8.float()
    n = x.shape[0]
    dx = int(torch.randint(-3, 4, (1,), generator=gen))
    dy = int(torch.randint(-2, 3, (1,), generator=gen))
    if dx or dy:
        x = F.pad(x, (3, 3, 2, 2), mode='replicate')[:, :, 2 + dy:2 + dy + synth.INPUT_H, 3 + dx:3 + dx + synth.INPUT_W]
    c = 0.7 + 0.6 * torch.rand(n, 1, 1, 1, generator=gen)
    b = (torch.rand(n, 1, 1, 1, generator=gen) - 0.5) * 60
    x = (x - 128) * c + 128 + b
    inv = torch.rand(n, 1, 1, 1, generator=gen) < 0.1
    x = torch.where(inv, 255 - x, x)
    return ((x.clamp(0, 255) - 127.5) / 127.5)


def greedy(probs: torch.Tensor) -> list[str]:
    best = probs.argmax(2).tolist()
    out = []
    for seq in best:
        s, prev = [], 0
        for k in seq:
            if k != prev and k != 0:
                s.append(synth.CHARSET[k - 1])
            prev = k
        out.append(''.join(s))
    return out


def evaluate(net: nn.Module, images: np.ndarray, labels: list[str], batch: int = 256) -> dict:
    net.eval()
    exact = compact = 0
    with torch.no_grad():
        for i in range(0, len(labels), batch):
            x = normalise(torch.from_numpy(images[i:i + batch]).unsqueeze(1))
            preds = greedy(net(x))
            for p, l in zip(preds, labels[i:i + batch]):
                exact += p == l
                compact += p.replace('|', '') == l.replace('|', '')
    net.train()
    return {'exact': exact / len(labels), 'compact': compact / len(labels)}


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        h.update(f.read())
    return h.hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--samples', type=int, default=64000, help='synthetic training samples (cached)')
    ap.add_argument('--val-samples', type=int, default=3000)
    ap.add_argument('--epochs', type=int, default=2)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--threads', type=int, default=int(os.environ.get('TRAIN_THREADS', '1')))
    ap.add_argument('--out', default=MODEL_DIR, help='model folder (card.json and model.onnx); its name is the version')
    ap.add_argument('--workers', type=int, default=int(os.environ.get('TRAIN_WORKERS', '2')),
                    help='processes generating the synthetic data (the data is the same whatever the count)')
    ap.add_argument('--time-limit-min', type=float, default=0, help='stop training after this long (0: none)')
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    started = time.time()
    print(f'[train] torch {torch.__version__}, {args.threads} thread(s), seed {args.seed}', flush=True)

    train_x, train_y = make_cache(args.seed, args.samples, 'train', args.workers)
    # Validation: a different seed, never seen in training.
    val_x, val_y = make_cache(args.seed + 1_000, args.val_samples, 'val', args.workers)
    data_s = time.time() - started

    classes = len(synth.CHARSET) + 1
    net = PlateReader(classes)
    params = sum(p.numel() for p in net.parameters())
    print(f'[train] model: {params} parameters, {classes} classes', flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = len(train_y) // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.15)
    ctc = nn.CTCLoss(blank=0, zero_infinity=True)
    targets_all = [synth.encode(l) for l in train_y]
    gen = torch.Generator().manual_seed(args.seed)
    step = 0
    train_started = time.time()
    history = []
    stopped_early = False
    for epoch in range(args.epochs):
        order = torch.randperm(len(train_y), generator=gen).tolist()
        running = 0.0
        seen = 0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch:(b + 1) * args.batch]
            x = augment(torch.from_numpy(train_x[idx]).unsqueeze(1), gen)
            tg = [targets_all[i] for i in idx]
            targets = torch.tensor([c for t in tg for c in t], dtype=torch.long)
            target_lengths = torch.tensor([len(t) for t in tg], dtype=torch.long)
            logits = net(x)  # N T C
            logp = F.log_softmax(logits, 2).permute(1, 0, 2)  # T N C
            input_lengths = torch.full((len(idx),), logp.shape[0], dtype=torch.long)
            loss = ctc(logp, targets, input_lengths, target_lengths)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            step += 1
            running += loss.item()
            seen += 1
            if step % 200 == 0:
                el = time.time() - train_started
                print(f'[train] epoch {epoch + 1}/{args.epochs} step {step}/{total} loss {running / seen:.4f} '
                      f'lr {sched.get_last_lr()[0]:.5f} {el:.0f} s, eta {el / step * (total - step):.0f} s', flush=True)
                running, seen = 0.0, 0
            if step % 1000 == 0:
                acc = evaluate(net, val_x[:500], val_y[:500])
                print(f'[train] step {step}: synthetic val (500) exact {acc["exact"]:.4f}, compact {acc["compact"]:.4f}',
                      flush=True)
            if args.time_limit_min and time.time() - train_started > args.time_limit_min * 60:
                stopped_early = True
                break
        acc = evaluate(net, val_x, val_y)
        history.append({'epoch': epoch + 1, **acc})
        print(f'[train] epoch {epoch + 1} done: synthetic val exact {acc["exact"]:.4f} (rows and characters), '
              f'compact {acc["compact"]:.4f}, {time.time() - train_started:.0f} s', flush=True)
        # A checkpoint each epoch: a run cut short still leaves the last finished epoch's model.
        export(args, net, history, params, time.time() - train_started, data_s, epoch + 1)
        if stopped_early:
            print(f'[train] time limit of {args.time_limit_min} min reached: stopping', flush=True)
            break
    train_s = time.time() - train_started
    final = history[-1]
    print(f'[done] synthetic val ({args.val_samples} samples, seed {args.seed + 1000}): exact {final["exact"]:.4f}, '
          f'compact {final["compact"]:.4f}', flush=True)
    print(f'[done] data {data_s / 60:.1f} min, training {train_s / 60:.1f} min, total '
          f'{(time.time() - started) / 60:.1f} min on {args.threads} thread(s)', flush=True)


def export(args, net: PlateReader, history: list, params: int, train_s: float, data_s: float, epochs_done: int) -> dict:
    os.makedirs(args.out, exist_ok=True)
    torch.save(net.state_dict(), os.path.join(CACHE_DIR, f'checkpoint-{os.path.basename(os.path.normpath(args.out))}.pt'))
    onnx_path = os.path.join(args.out, 'model.onnx')
    was_training = net.training
    net.eval()
    exported = Exported(net)
    dummy = torch.zeros(1, 1, synth.INPUT_H, synth.INPUT_W)
    torch.onnx.export(exported, dummy, onnx_path, input_names=['image'], output_names=['probs'],
                      dynamic_axes={'image': {0: 'N'}, 'probs': {0: 'N'}}, opset_version=13,
                      do_constant_folding=True)
    charset_path = os.path.join(args.out, 'charset.txt')
    with open(charset_path, 'w', encoding='utf-8') as f:
        f.write('\n'.join(synth.CHARSET) + '\n')
    digest = sha256_file(onnx_path)
    size = os.path.getsize(onnx_path)
    final = history[-1]
    write_card(args, digest, sha256_file(charset_path), final, params, train_s, data_s, epochs_done, history)
    print(f'[export] epoch {epochs_done}: {os.path.relpath(onnx_path, ROOT)}: {size / 1024:.0f} KiB, sha256 {digest}',
          flush=True)
    if was_training:
        net.train()
    return final


def write_card(args, digest: str, charset_sha: str, final: dict, params: int, train_s: float, data_s: float,
               epochs_done: int, history: list) -> None:
    card_path = os.path.join(args.out, 'card.json')
    previous = None
    if os.path.exists(card_path):
        try:
            previous = json.load(open(card_path, encoding='utf-8'))
        except ValueError:
            previous = None
    # Measured accuracy belongs to one file: kept only when the model is byte for byte the same.
    accuracy = previous.get('accuracy') if previous and previous.get('sha256') == digest else None
    version = os.path.basename(os.path.normpath(args.out))
    steps = (args.samples // args.batch) * epochs_done
    command = (f'npm run models:train:plate-ocr -- --seed {args.seed} --samples {args.samples} '
               f'--epochs {args.epochs} --batch {args.batch} --lr {args.lr}')
    if os.path.normpath(args.out) != os.path.normpath(MODEL_DIR):
        command += f' --out {os.path.relpath(args.out, ROOT)}'
    if args.time_limit_min:
        command += f' --time-limit-min {args.time_limit_min:g}'
    cut = (f' The run stopped after epoch {epochs_done} of {args.epochs}; this is that epoch\'s model.'
           if epochs_done < args.epochs else '')
    card = {
        'name': 'vn-plate-ocr',
        'version': version,
        'task': 'plate-recognition',
        'description': (
            'The project\'s own plate reader: a whole plate crop (one-row or two-row) stretched to 48 x 144 '
            'grey, a 5-layer CNN down to 2 feature rows x 36 columns laid end to end (top row, then bottom '
            'row), three dilated 1-D convolutions and a CTC head over the 72 steps. Reads A-Z, 0-9 and Đ; a two-row '
            "plate is read as 'row1|row2' ('|' is a class), so the reading says where the rows split. "
            f'{params} parameters.'
        ),
        'file': 'model.onnx',
        'source': {
            'package': 'phat-nguoi (this repository)',
            'version': f'trained here: seed {args.seed}',
            'files': ['models/vn-plate-ocr/train/synth.py', 'models/vn-plate-ocr/train/train.py',
                      'models/vn-plate-ocr/train/train.sh'],
            'upstream': 'none: trained from scratch by this project',
            'conversion': (
                f'`{command}` (models/vn-plate-ocr/train/train.sh): generates {args.samples} synthetic '
                f'plates (synth.py generator v{GENERATOR_VERSION}, seed {args.seed}; validation {args.val_samples} '
                f'with seed {args.seed + 1000}; {args.workers} processes), trains {epochs_done} epochs ({steps} steps of '
                f'{args.batch}, AdamW, one-cycle lr {args.lr} planned over {args.epochs} epochs; each batch shifted '
                f'by up to 3 px, contrast and brightness varied, one in ten inverted) with Debian python3-torch '
                f'{torch.__version__} on CPU, {args.threads} thread(s), and exports ONNX opset 13 with softmax. '
                f'Data {data_s / 60:.0f} min, training {train_s / 60:.0f} min on this machine (shared, under '
                'nice).' + cut + ' The same seed gives the same data and, on the same CPU and torch build, the '
                'same weights.'
            ),
        },
        'training': {
            'data': (
                f'Synthetic only, generated by models/vn-plate-ocr/train/synth.py (generator v{GENERATOR_VERSION}): '
                'Vietnamese plates of every '
                'format in detector/plates/plate-grammar.ts (car one-row and square two-row, 4- and 5-digit, '
                'special series LD DA KT MK TĐ HC, motorbike letter+digit and two-letter series, electric MĐ, '
                'diplomatic NG QT CV NN) with the 2025 province codes (and a few retired ones), white, yellow, '
                'blue and red plates; a quarter international-style one-row plates (random A-Z 0-9 groups, '
                'EU band, several colours). Two-row plates as printed: top row with a dash (59-F1, 30-MĐ1), '
                'both rows spread evenly over most of the plate width. Fonts from Debian (DejaVu Sans '
                'Condensed and Liberation Sans Narrow, regular and bold, and others), stretched to plate '
                'proportions; perspective, rotation, loose crops, low resolution (two-row crops at least 40 px '
                'high), blur, motion blur, noise, JPEG, glare, night. No real image is used for training or for '
                'choosing settings (a handful of real crops were looked at by eye to match the layout and '
                'typeface, as the card of the data set allows for evaluation data).'
            ),
            'seed': args.seed,
            'samples': args.samples,
            'epochs': epochs_done,
            'syntheticValidation': {'samples': args.val_samples, 'exact': round(final['exact'], 4),
                                    'compact': round(final['compact'], 4)},
            'command': command,
        },
        'licence': {
            'spdx': 'Apache-2.0',
            'notes': ('Weights trained by this project on synthetic data only (fonts: DejaVu, Bitstream Vera '
                      'licence; Liberation, SIL OFL 1.1: used to render training images, not distributed '
                      'with the model). Released under the project licence.'),
        },
        'sha256': digest,
        'input': {
            'name': 'image',
            'shape': ['N', 1, synth.INPUT_H, synth.INPUT_W],
            'layout': 'NCHW',
            'dtype': 'float32',
            'pixelFormat': 'GRAY',
            'normalisation': {
                'mean': [127.5],
                'std': [127.5],
                'note': ('BT.601 luma of the RGB crop after resizeRgb to 144 x 48 (detector/plates/image.ts), '
                         'then (x - 127.5) / 127.5'),
            },
            'resize': 'stretch',
            'warmUpShape': [1, 1, synth.INPUT_H, synth.INPUT_W],
        },
        'output': {
            'format': 'ctc',
            'description': ('probs [N,72,39]: per step a softmax over class 0 = CTC blank and classes 1..38 = '
                            'the lines of charset.txt (0-9, A-Z, Đ, and | = the break between the rows of a '
                            'two-row plate). Steps 0-35 read the top half left to right, 36-71 the bottom half.'),
            'tensor': {'name': 'probs', 'shape': ['N', 72, len(synth.CHARSET) + 1]},
            'blankIndex': 0,
            'softmaxApplied': True,
            'rowBreak': synth.ROW_BREAK,
        },
        'charset': {'file': 'charset.txt', 'sha256': charset_sha, 'size': len(synth.CHARSET),
                    'spaceAppended': False},
        'thresholds': {'confidence': previous['thresholds']['confidence'] if previous and 'thresholds' in previous else 0.9},
        'accuracy': accuracy,
    }
    with open(card_path, 'w', encoding='utf-8') as f:
        json.dump(card, f, ensure_ascii=False, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
