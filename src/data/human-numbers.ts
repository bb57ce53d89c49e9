/**
 * fastbook's Human Numbers data set (ch. 12): the English words for 1..9999, joined with " . ".
 * fastai ships it as a download; it is fully determined by the rule below, so ulmfit generates
 * it (fixtures/human-numbers/ holds the generated text for the CLI examples).
 */
const ONES = [
  '',
  'one',
  'two',
  'three',
  'four',
  'five',
  'six',
  'seven',
  'eight',
  'nine',
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** `n` (1..9999) in words, fastai's spelling: 1234 → "one thousand two hundred thirty four". */
export function numberToWords(n: number): string {
  if (!Number.isInteger(n) || n < 1 || n > 9999)
    throw new RangeError(`numberToWords: ${n} is outside 1..9999`);
  const words: string[] = [];
  const thousands = Math.floor(n / 1000);
  const hundreds = Math.floor((n % 1000) / 100);
  const rest = n % 100;
  if (thousands > 0) words.push(ONES[thousands]!, 'thousand');
  if (hundreds > 0) words.push(ONES[hundreds]!, 'hundred');
  if (rest >= 20) {
    words.push(TENS[Math.floor(rest / 10)]!);
    if (rest % 10 > 0) words.push(ONES[rest % 10]!);
  } else if (rest > 0) {
    words.push(ONES[rest]!);
  }
  return words.join(' ');
}

/**
 * The token stream fastbook builds: every number's words followed by ".", for 1..9999, split at
 * `trainShare` of the tokens into a training and a validation part (fastbook: 80% / 20%).
 */
export function humanNumbersTokens(trainShare = 0.8): { train: string[]; valid: string[] } {
  const tokens: string[] = [];
  for (let n = 1; n <= 9999; n++) tokens.push(...numberToWords(n).split(' '), '.');
  const cut = Math.floor(tokens.length * trainShare);
  return { train: tokens.slice(0, cut), valid: tokens.slice(cut) };
}
