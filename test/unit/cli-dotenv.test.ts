import { describe, expect, it } from 'vitest'
import { DotenvError, parseDotenv } from '../../src/cli/keystash/dotenv.ts'

const pairs = (text: string) => parseDotenv(text).map(({ name, value }) => [name, value])

describe('parseDotenv', () => {
  it('reads NAME=value lines, skipping blank lines and comments', () => {
    const text = '# comment\n\nA=1\n  # indented comment\nB=two words\n\n'
    expect(parseDotenv(text)).toEqual([
      { name: 'A', value: '1', line: 3 },
      { name: 'B', value: 'two words', line: 5 },
    ])
  })

  it('accepts an export prefix and spaces around the equals sign', () => {
    expect(pairs('export A=1\nexport\tB = 2\n  C  =3')).toEqual([
      ['A', '1'],
      ['B', '2'],
      ['C', '3'],
    ])
    // `export` alone is a variable name like any other.
    expect(pairs('export=yes')).toEqual([['export', 'yes']])
  })

  it('trims unquoted values and cuts a comment that follows whitespace', () => {
    expect(pairs('A=  value  \nB=value # comment\nC=a#b\nD=#x\nE=')).toEqual([
      ['A', 'value'],
      ['B', 'value'],
      ['C', 'a#b'],
      ['D', ''],
      ['E', ''],
    ])
  })

  it('keeps quoted values exactly, # and spaces included', () => {
    expect(pairs(`A="  x # y  "\nB='  x # y  '\nC=\`x # y\``)).toEqual([
      ['A', '  x # y  '],
      ['B', '  x # y  '],
      ['C', 'x # y'],
    ])
  })

  it('expands escapes in double quotes only', () => {
    const text = [String.raw`A="l1\nl2\t\"q\"\\ \x"`, String.raw`B='l1\nl2'`].join('\n')
    expect(pairs(text)).toEqual([
      ['A', 'l1\nl2\t"q"\\ \\x'],
      ['B', String.raw`l1\nl2`],
    ])
  })

  it('reads multi-line quoted values and counts lines across them', () => {
    const text = 'A="line 1\nline 2"\nB=\'x\ny\' # done\nC=3'
    expect(parseDotenv(text)).toEqual([
      { name: 'A', value: 'line 1\nline 2', line: 1 },
      { name: 'B', value: 'x\ny', line: 3 },
      { name: 'C', value: '3', line: 5 },
    ])
  })

  it('handles CRLF line ends and a byte-order mark', () => {
    expect(pairs('\uFEFFA=1\r\nB="x"\r\n')).toEqual([
      ['A', '1'],
      ['B', 'x'],
    ])
  })

  it('lets the last of two same names win', () => {
    expect(pairs('A=1\nB=2\nA=3')).toEqual([
      ['B', '2'],
      ['A', '3'],
    ])
  })

  it('accepts dots and dashes in names, as dotenv does', () => {
    expect(pairs('my.app-key=1')).toEqual([['my.app-key', '1']])
  })

  it('reports errors by line number, never with the line text', () => {
    const secret = 'sk-live-do-not-print'
    const cases: Array<[string, number, RegExp]> = [
      [`A=1\n${secret}`, 2, /expected NAME=value/],
      [`A=1\n1BAD=${secret}`, 2, /expected NAME=value/],
      [`A=1\nB="${secret}`, 2, /never closed/],
      [`B="${secret}" trailing`, 1, /after the closing quote/],
    ]
    for (const [text, line, message] of cases) {
      let error: unknown
      try {
        parseDotenv(text)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(DotenvError)
      expect((error as DotenvError).line).toBe(line)
      expect((error as Error).message).toMatch(message)
      expect((error as Error).message).not.toContain('sk-live')
    }
  })
})
