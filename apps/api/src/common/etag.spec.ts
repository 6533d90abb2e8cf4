import { describe, expect, it } from 'vitest';
import { noneMatchHits, weakEtag } from './etag';

describe('weakEtag', () => {
  it('is weak, carries the byte length in hex, and is the same for a string and its bytes', () => {
    const tag = weakEtag('héllo');
    expect(tag).toMatch(/^W\/"6-[A-Za-z0-9_-]{27}"$/);
    expect(weakEtag(Buffer.from('héllo'))).toBe(tag);
  });

  it('differs when one byte differs', () => {
    expect(weakEtag('{"status":"running"}')).not.toBe(weakEtag('{"status":"runninG"}'));
  });
});

describe('noneMatchHits', () => {
  const tag = weakEtag('body');
  it('matches the tag itself, its strong form, a list holding it, and *', () => {
    expect(noneMatchHits(tag, tag)).toBe(true);
    expect(noneMatchHits(tag.slice(2), tag)).toBe(true);
    expect(noneMatchHits(`"a",  ${tag} ,"b"`, tag)).toBe(true);
    expect(noneMatchHits('*', tag)).toBe(true);
  });

  it('does not match other tags, an empty header or a tag without its quotes', () => {
    expect(noneMatchHits('W/"4-other"', tag)).toBe(false);
    expect(noneMatchHits('', tag)).toBe(false);
    expect(noneMatchHits(tag.slice(3, -1), tag)).toBe(false);
  });
});
