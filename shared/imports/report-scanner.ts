import { BodyTooLargeError, InvalidJsonError, invalidReport } from '../errors.ts'
import { runPointer, type LogPiece, type ScanPaths } from './report-format.ts'

/** A report needs about 15 levels (SARIF's code flows included); property bags get the rest. */
export const MAX_DEPTH = 64
const MAX_TOKEN_LENGTH = 1000

/**
 * What the scanner keeps of a report, bounded, so that no report can take more memory than these
 * allow (a report's text may be 64 MiB; what is kept of it is not). A result over its bounds is
 * handed out as `oversized` (the import rejects it by name); anything else over a bound refuses
 * the report (413) naming the bound.
 */
export const SCAN_LIMITS = {
  /** JSON values in one result (GitHub keeps 10 000 thread-flow locations of a result: about 15 values each). */
  resultValues: 200_000,
  /** Characters of one result's JSON text. */
  resultChars: 4 * 1024 * 1024,
  /** JSON values of the header and run members kept (tools with their rules, artifacts), over the whole report. */
  keptValues: 200_000,
  /** Characters of the header and run members kept, over the whole report. */
  keptChars: 8 * 1024 * 1024,
  /** Members of one object (a set of its names is kept while it is open). */
  objectMembers: 10_000,
  /** Characters of one member name. */
  nameChars: 1000,
  /** Characters of the member names of all objects open at once. */
  openNameChars: 1024 * 1024,
  /**
   * Elements of a streamed list (CycloneDX components, nested ones included) in the whole report:
   * each is kept reduced, and the reductions are what a run's context holds, in memory and in the
   * store; a real BOM of a container image or a monorepo has tens of thousands.
   */
  streamedElements: 200_000,
  /**
   * Characters of the members kept of the streamed elements, over the whole report (a value an
   * element already holds under another name, such as a purl that is also the `bom-ref`, counts once).
   */
  streamedChars: 16 * 1024 * 1024,
  /** Characters of one member kept of a streamed element (a longer one is not kept: no mapping takes it). */
  streamedValueChars: 2048
} as const

type Role = 'none' | 'document' | 'runs' | 'run' | 'results' | 'list' | 'element'

interface Frame {
  array: boolean
  role: Role
  /** Member names seen so far (objects). */
  keys?: Set<string>
  /** The member whose value comes next (objects). */
  key?: string
  /** Characters of the member names in `keys`. */
  nameChars: number
  /** Index of the next element (arrays). */
  index: number
  run: number
  /** The members kept of a streamed element, as it is scanned (elements). */
  kept?: Record<string, string>
}

/** Where the scanner is in the grammar. */
const State = { Value: 0, ObjectFirst: 1, ObjectKey: 2, Colon: 3, AfterValue: 4, ArrayFirst: 5, String: 6, Escape: 7, Unicode: 8, Number: 9, Literal: 10, Done: 11 } as const
type State = typeof State[keyof typeof State]

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d])
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$/
/** What ends a run of plain characters in a string. */
const STRING_SPECIAL = /["\\\u0000-\u001f]/g // eslint-disable-line no-control-regex -- raw control characters end a JSON string's plain run

interface Capture {
  depth: number
  parts: string[]
  start: number
  /** Values and characters captured so far. */
  values: number
  chars: number
  /** A result over its bounds: why (its text is no longer kept). */
  oversized?: string
  emit: (json: string) => LogPiece | undefined
  /** Results only: what is handed out instead when the result is over its bounds. */
  reject?: (reason: string) => LogPiece
  /** A member of a streamed element: bounded by `streamedValueChars`, dropped beyond it. */
  element?: boolean
}

/**
 * A streaming scanner of a report: fed text in pieces of any size, it checks the whole document
 * as strict JSON (RFC 8259 as I-JSON, RFC 7493: no duplicate member names, no lone surrogates, no
 * NUL) and hands out only what the import needs, one piece at a time, where the format's `paths`
 * say (SARIF: each element of `runs[i].results` as its JSON text, the few run members results are
 * mapped with, and `version`; CycloneDX: each component reduced as it ends). Memory stays bounded
 * by the largest single piece and the reduced elements, never the document; nesting deeper than
 * MAX_DEPTH is refused the moment it is reached (no recursion anywhere).
 */
export class ReportScanner {
  private readonly paths: ScanPaths
  private readonly stack: Frame[] = []
  private state: State = State.Value
  private offset = 0
  private stringIsKey = false
  private keyParts: string[] = []
  private keyStart = 0
  private unicode = ''
  private highSurrogate = false
  private token = ''
  private capture: Capture | undefined
  private rootSeen = false
  private runsSeen = false
  /** Values and characters of the header and run members captured so far (completed ones). */
  private keptValues = 0
  private keptChars = 0
  private openNameChars = 0
  /** Elements of streamed lists started, and characters kept of them, so far. */
  private streamedElements = 0
  private streamedChars = 0

  constructor (paths: ScanPaths) {
    this.paths = paths
  }

  /** Scans the next piece of text; returns what completed in it. */
  push (text: string): LogPiece[] {
    const out: LogPiece[] = []
    if (this.capture) this.capture.start = 0
    if (this.inKey) this.keyStart = 0
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i)
      switch (this.state) {
        case State.Value:
          if (WHITESPACE.has(c)) break
          this.startValue(c, text, i, out)
          break
        case State.ObjectFirst:
          if (WHITESPACE.has(c)) break
          if (c === 0x7d) this.closeContainer(text, i, out)
          else if (c === 0x22) this.startKey(i)
          else this.fail('a member name or }')
          break
        case State.ObjectKey:
          if (WHITESPACE.has(c)) break
          if (c === 0x22) this.startKey(i)
          else this.fail('a member name')
          break
        case State.Colon:
          if (WHITESPACE.has(c)) break
          if (c === 0x3a) this.state = State.Value
          else this.fail(':')
          break
        case State.AfterValue: {
          if (WHITESPACE.has(c)) break
          const top = this.stack[this.stack.length - 1]
          if (!top) this.fail('the end of the document')
          else if (c === 0x2c) this.state = top.array ? State.Value : State.ObjectKey
          else if (c === (top.array ? 0x5d : 0x7d)) this.closeContainer(text, i, out)
          else this.fail(top.array ? ', or ]' : ', or }')
          break
        }
        case State.ArrayFirst:
          if (WHITESPACE.has(c)) break
          if (c === 0x5d) this.closeContainer(text, i, out)
          else this.startValue(c, text, i, out)
          break
        case State.String:
          if (this.highSurrogate && c !== 0x5c) this.fail('a low surrogate escape after a high surrogate (lone surrogates are not accepted)')
          if (c === 0x22) this.endString(text, i, out)
          else if (c === 0x5c) this.state = State.Escape
          else if (c < 0x20) this.fail('no control characters inside a string')
          else {
            // Plain characters up to the next quote, backslash or control character: passed at once.
            STRING_SPECIAL.lastIndex = i + 1
            const stop = STRING_SPECIAL.exec(text)?.index ?? text.length
            this.offset += stop - 1 - i
            i = stop - 1
          }
          break
        case State.Escape:
          if (c === 0x75) {
            this.unicode = ''
            this.state = State.Unicode
          } else if (this.highSurrogate) {
            this.fail('a low surrogate escape after a high surrogate (lone surrogates are not accepted)')
          } else if ('"\\/bfnrt'.includes(text[i]!)) {
            this.state = State.String
          } else {
            this.fail('a valid escape sequence')
          }
          break
        case State.Unicode:
          if (!/[0-9a-fA-F]/.test(text[i]!)) this.fail('four hex digits after \\u')
          this.unicode += text[i]
          if (this.unicode.length === 4) this.endUnicode()
          break
        case State.Number:
        case State.Literal:
          if (this.state === State.Number ? /[0-9eE.+-]/.test(text[i]!) : /[a-z]/.test(text[i]!)) {
            this.token += text[i]
            if (this.token.length > MAX_TOKEN_LENGTH) this.fail('a shorter number or literal')
            break
          }
          this.endToken(text, i, out)
          // The character after a number or literal belongs to what follows: scan it again.
          i--
          this.offset--
          break
        case State.Done:
          if (!WHITESPACE.has(c)) this.fail('nothing after the log')
          break
      }
      this.offset++
    }
    if (this.capture) this.keepCaptured(this.capture, text.slice(this.capture.start))
    if (this.inKey) {
      this.keyParts.push(text.slice(this.keyStart))
      if (this.keyParts.reduce((sum, part) => sum + part.length, 0) > SCAN_LIMITS.nameChars) this.refuse(`a member name longer than ${SCAN_LIMITS.nameChars} characters`)
    }
    return out
  }

  /** Inside a member name, its escapes included (a piece may end in the middle of one). */
  private get inKey (): boolean {
    return this.stringIsKey && (this.state === State.String || this.state === State.Escape || this.state === State.Unicode)
  }

  /** The document ended: it must be complete. */
  end (): LogPiece[] {
    const out: LogPiece[] = []
    if (this.state === State.Number || this.state === State.Literal) this.endToken('', 0, out)
    if (this.state !== State.Done) this.fail('more of the document (it ended early)')
    if (!this.runsSeen) throw this.runsMissing()
    return out
  }

  private runsMissing (): Error {
    return invalidReport([{ path: `/${this.paths.runs ?? ''}`, message: 'is required (an array of runs)' }])
  }

  /** A report over one of the SCAN_LIMITS: refused, naming the limit and where it was passed. */
  private refuse (what: string): never {
    throw new BodyTooLargeError(`The report is over a limit: ${what} (at character ${this.offset}); split it by run or category`)
  }

  /** Adds captured text, within the capture's bounds. */
  private keepCaptured (capture: Capture, text: string): void {
    if (capture.oversized !== undefined) return
    capture.chars += text.length
    if (capture.element) {
      if (capture.chars > SCAN_LIMITS.streamedValueChars) return this.oversize(capture, 'too long to keep')
    } else if (capture.reject) {
      if (capture.chars > SCAN_LIMITS.resultChars) return this.oversize(capture, `its JSON text is longer than ${SCAN_LIMITS.resultChars} characters`)
    } else if (this.keptChars + capture.chars > SCAN_LIMITS.keptChars) {
      this.refuse(`the tools, rules, artifacts and other run members kept hold more than ${SCAN_LIMITS.keptChars} characters`)
    }
    capture.parts.push(text)
  }

  /** A value starts inside a capture: counted within the capture's bounds. */
  private countValue (capture: Capture): void {
    if (capture.oversized !== undefined) return
    capture.values++
    if (capture.element) return
    if (capture.reject) {
      if (capture.values > SCAN_LIMITS.resultValues) this.oversize(capture, `it holds more than ${SCAN_LIMITS.resultValues} JSON values`)
    } else if (this.keptValues + capture.values > SCAN_LIMITS.keptValues) {
      this.refuse(`the tools, rules, artifacts and other run members kept hold more than ${SCAN_LIMITS.keptValues} JSON values`)
    }
  }

  /** A result over its bounds: its text is dropped now, and it is handed out as rejected once it ends. */
  private oversize (capture: Capture, reason: string): void {
    capture.oversized = reason
    capture.parts = []
  }

  private fail (expected: string): never {
    throw new InvalidJsonError(`The report is not valid JSON: expected ${expected} at character ${this.offset}`)
  }

  private startValue (c: number, text: string, i: number, out: LogPiece[]): void {
    const parent = this.stack[this.stack.length - 1]
    const role = this.roleOfChild(parent, c)
    if (!this.capture && parent) this.startCapture(parent, role, c, i)
    if (this.capture) this.countValue(this.capture)
    if (c === 0x7b || c === 0x5b) {
      if (this.stack.length >= MAX_DEPTH) throw invalidReport([{ path: '', message: `nests deeper than ${MAX_DEPTH} levels` }])
      const array = c === 0x5b
      this.stack.push({ array, role, index: 0, nameChars: 0, run: role === 'run' ? parent?.index ?? 0 : parent?.run ?? -1, ...(array ? {} : { keys: new Set<string>() }) })
      this.state = array ? State.ArrayFirst : State.ObjectFirst
      if (role === 'run') out.push({ kind: 'run', run: parent?.index ?? 0 })
      if (role === 'results') out.push({ kind: 'results', run: parent!.run })
      if (role === 'element') this.startElement()
    } else if (c === 0x22) {
      this.stringIsKey = false
      this.state = State.String
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.token = text[i]!
      this.state = State.Number
    } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
      this.token = text[i]!
      this.state = State.Literal
    } else {
      this.fail('a value')
    }
  }

  /** What a value is in the report, checked against what the format requires there. */
  private roleOfChild (parent: Frame | undefined, c: number): Role {
    const isObject = c === 0x7b
    const isArray = c === 0x5b
    if (!parent) {
      if (!isObject) throw invalidReport([{ path: '', message: `${this.paths.document} is a JSON object` }])
      this.rootSeen = true
      if (this.paths.runs !== undefined) return 'document'
      // The document is the one run.
      this.runsSeen = true
      return 'run'
    }
    if (parent.role === 'document' && parent.key === this.paths.runs) {
      if (!isArray) throw invalidReport([{ path: `/${this.paths.runs}`, message: 'must be an array' }])
      this.runsSeen = true
      return 'runs'
    }
    if (parent.role === 'runs') {
      if (!isObject) throw invalidReport([{ path: `/${this.paths.runs}/${parent.index}`, message: 'a run must be an object' }])
      return 'run'
    }
    const streamed = this.paths.streamed
    if (streamed !== undefined && parent.key === streamed.member && (parent.role === 'run' || parent.role === 'element')) {
      if (isArray) return 'list'
      // A nested list that is none is not read (as the mapping never read it); the run's own must be one.
      if (parent.role === 'run') throw invalidReport([{ path: `${runPointer(this.paths, parent.run)}/${streamed.member}`, message: 'must be an array' }])
    }
    if (parent.role === 'list') return isObject ? 'element' : 'none'
    if (parent.role === 'run' && parent.key === this.paths.results) {
      if (isArray) return 'results'
      // null, where the format allows it, is a run that reports none; anything else is no list of them.
      if (!(c === 0x6e && this.paths.resultsMayBeNull === true)) {
        const at = this.paths.runs === undefined ? `/${this.paths.results}` : `/${this.paths.runs}/${parent.run}/${this.paths.results}`
        throw invalidReport([{ path: at, message: 'must be an array' }])
      }
    }
    return 'none'
  }

  /** An element of a streamed list starts: counted within its bound; its members are kept as they are scanned. */
  private startElement (): void {
    if (++this.streamedElements > SCAN_LIMITS.streamedElements) this.refuse(`more than ${SCAN_LIMITS.streamedElements} ${this.paths.streamed!.member} (nested ones included)`)
    this.stack[this.stack.length - 1]!.kept = {}
  }

  /** Values the import keeps are captured as text while they are scanned. */
  private startCapture (parent: Frame, role: Role, c: number, i: number): void {
    let emit: Capture['emit'] | undefined
    let reject: Capture['reject'] | undefined
    let element = false
    if (role === 'list' || role === 'element') return
    const isDocument = parent.role === 'document' || (parent.role === 'run' && this.stack.length === 1)
    if (isDocument && parent.key !== undefined && this.paths.header.includes(parent.key)) {
      const key = parent.key
      emit = (json) => ({ kind: 'header', key, value: JSON.parse(json) })
    } else if (parent.role === 'run' && parent.key !== undefined && this.paths.runMembers.includes(parent.key)) {
      const key = parent.key
      emit = (json) => ({ kind: 'runMember', run: parent.run, key, value: JSON.parse(json) })
    } else if (parent.role === 'results') {
      const index = parent.index
      emit = (json) => ({ kind: 'result', run: parent.run, index, json })
      reject = (reason) => ({ kind: 'oversized', run: parent.run, index, reason })
    } else if (parent.role === 'element' && parent.key !== undefined && c === 0x22 && this.paths.streamed!.keep.includes(parent.key)) {
      // Only strings are kept of an element: nothing the mapping reads there is anything else.
      const key = parent.key
      element = true
      emit = (json) => {
        const value = JSON.parse(json) as string
        const kept = parent.kept!
        if (!Object.values(kept).includes(value)) this.streamedChars += json.length
        if (this.streamedChars > SCAN_LIMITS.streamedChars) this.refuse(`the ${this.paths.streamed!.member} kept hold more than ${SCAN_LIMITS.streamedChars} characters`)
        kept[key] = value
        return undefined
      }
    }
    if (emit) this.capture = { depth: this.stack.length, parts: [], start: i, values: 0, chars: 0, emit, ...(reject ? { reject } : {}), ...(element ? { element } : {}) }
  }

  private startKey (i: number): void {
    this.stringIsKey = true
    this.keyParts = []
    this.keyStart = i + 1
    this.state = State.String
  }

  private endString (text: string, i: number, out: LogPiece[]): void {
    if (!this.stringIsKey) return this.endValue(text, i + 1, out)
    const raw = this.keyParts.length === 0 ? text.slice(this.keyStart, i) : this.keyParts.join('') + text.slice(this.keyStart, i)
    // Only a name with escapes needs decoding (the scan has checked them).
    const key = raw.includes('\\') ? JSON.parse(`"${raw}"`) as string : raw
    const top = this.stack[this.stack.length - 1]!
    if (key === '__proto__') throw new InvalidJsonError(`The report is not accepted: the member name __proto__ at character ${this.offset}`)
    if (top.keys!.has(key)) throw new InvalidJsonError(`The report is not valid I-JSON: duplicate member name ${JSON.stringify(key.slice(0, 100))} at character ${this.offset}`)
    if (key.length > SCAN_LIMITS.nameChars) this.refuse(`a member name longer than ${SCAN_LIMITS.nameChars} characters`)
    if (top.keys!.size >= SCAN_LIMITS.objectMembers) this.refuse(`an object with more than ${SCAN_LIMITS.objectMembers} members`)
    this.openNameChars += key.length
    if (this.openNameChars > SCAN_LIMITS.openNameChars) this.refuse(`the objects open at once have member names of more than ${SCAN_LIMITS.openNameChars} characters`)
    top.nameChars += key.length
    top.keys!.add(key)
    top.key = key
    this.state = State.Colon
  }

  private endUnicode (): void {
    const code = Number.parseInt(this.unicode, 16)
    if (code === 0) this.fail('no NUL character (\\u0000)')
    const high = code >= 0xd800 && code <= 0xdbff
    const low = code >= 0xdc00 && code <= 0xdfff
    if (low !== this.highSurrogate) this.fail('surrogate escapes in pairs (lone surrogates are not accepted)')
    this.highSurrogate = high
    this.state = State.String
  }

  private endToken (text: string, i: number, out: LogPiece[]): void {
    const valid = this.state === State.Number ? NUMBER.test(this.token) : ['true', 'false', 'null'].includes(this.token)
    if (!valid) this.fail('a number, true, false or null')
    this.endValue(text, i, out)
  }

  private closeContainer (text: string, i: number, out: LogPiece[]): void {
    const frame = this.stack.pop()!
    this.openNameChars -= frame.nameChars
    if (frame.role === 'document' && !this.runsSeen) throw this.runsMissing()
    if (frame.role === 'element') out.push({ kind: 'element', run: frame.run, key: this.paths.streamed!.member, value: frame.kept! })
    this.endValue(text, i + 1, out)
  }

  /** A value ended just before `end`: emit it if it was captured, then move past it in its parent. */
  private endValue (text: string, end: number, out: LogPiece[]): void {
    const capture = this.capture
    if (capture && capture.depth === this.stack.length) {
      this.keepCaptured(capture, text.slice(capture.start, end))
      this.capture = undefined
      if (capture.oversized !== undefined) {
        if (capture.reject) out.push(capture.reject(capture.oversized))
      } else {
        if (!capture.reject && !capture.element) {
          this.keptValues += capture.values
          this.keptChars += capture.chars
        }
        const piece = capture.emit(capture.parts.join(''))
        if (piece) out.push(piece)
      }
    }
    const parent = this.stack[this.stack.length - 1]
    if (!parent) {
      this.state = State.Done
      return
    }
    if (parent.array) parent.index++
    else parent.key = undefined
    this.state = State.AfterValue
  }

  /** True once the whole report was scanned. */
  get complete (): boolean {
    return this.state === State.Done && this.rootSeen
  }
}
