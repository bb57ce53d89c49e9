/**
 * Small archives in fastai's exact layouts, built with the `tar` package from committed fixtures:
 *   wt103-fwd.tgz   wt103-fwd/lstm_fwd.pth + wt103-fwd/itos_wt103.pkl (fixtures/torch: a fastai v1
 *                   AWD-LSTM, vocab 8, emb 4, hidden 6, 2 layers, the WT103 file layout)
 *   imdb.tgz        imdb/{train,test}/{pos,neg}/*.txt, imdb/unsup/*.txt, imdb/README (aclImdb's
 *                   layout as fastai ships it, from fixtures/inputs/imdb-mini)
 *   ag_news_csv.tgz ag_news_csv/{train,test}.csv without a header, classes.txt
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tar from 'tar';

const FIXTURES = join(import.meta.dirname, '../../fixtures');

/** A .tgz of `build`'s folder `top` (what `build` writes under the temp root). */
export async function makeTgz(top: string, build: (root: string) => void): Promise<Uint8Array> {
  const root = mkdtempSync(join(tmpdir(), 'ulmfit-tgz-'));
  try {
    build(root);
    const file = join(root, 'out.tgz');
    await tar.c({ gzip: true, cwd: root, file, portable: true }, [top]);
    return new Uint8Array(readFileSync(file));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function wt103Tgz(name = 'wt103-fwd'): Promise<Uint8Array> {
  return makeTgz(name, (root) => {
    mkdirSync(join(root, name));
    copyFileSync(
      join(FIXTURES, 'torch/fastai_v1_wrapped_legacy.pth'),
      join(root, name, name.endsWith('bwd') ? 'lstm_bwd.pth' : 'lstm_fwd.pth'),
    );
    copyFileSync(join(FIXTURES, 'torch/fastai_v1_itos.pkl'), join(root, name, 'itos_wt103.pkl'));
  });
}

export function imdbTgz(): Promise<Uint8Array> {
  return makeTgz('imdb', (root) => {
    const mini = join(FIXTURES, 'inputs/imdb-mini');
    const imdb = join(root, 'imdb');
    mkdirSync(imdb);
    cpSync(join(mini, 'test'), join(imdb, 'test'), { recursive: true });
    for (const label of ['pos', 'neg'])
      cpSync(join(mini, 'train', label), join(imdb, 'train', label), { recursive: true });
    cpSync(join(mini, 'train/unsup'), join(imdb, 'unsup'), { recursive: true }); // top level, as in fastai's imdb.tgz
    copyFileSync(join(mini, 'README'), join(imdb, 'README'));
  });
}

export function agNewsTgz(): Promise<Uint8Array> {
  return makeTgz('ag_news_csv', (root) => {
    const dir = join(root, 'ag_news_csv');
    mkdirSync(dir);
    writeFileSync(join(dir, 'classes.txt'), 'World\nSports\nBusiness\nSci/Tech\n');
    writeFileSync(
      join(dir, 'train.csv'),
      '"3","Stocks rise","Markets closed higher,\\nled by banks."\n"2","Cup final","The home side won ""easily""."\n',
    );
    writeFileSync(join(dir, 'test.csv'), '"1","Summit ends","Leaders agreed on a plan."\n');
  });
}

export function wikitext2Tgz(): Promise<Uint8Array> {
  return makeTgz('wikitext-2', (root) => {
    const dir = join(root, 'wikitext-2');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'train.csv'),
      '" = Cats = \n The cat sat on the mat . \n"\n" = Dogs = \n A dog ran . \n"\n',
    );
    writeFileSync(join(dir, 'test.csv'), '" = Birds = \n The bird sang . \n"\n');
  });
}
