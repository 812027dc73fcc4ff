import { digOutputReader } from './blocks/dig-output.js';
import {
  type BlockContext,
  type BlockFinding,
  type BlockReader,
  mergeFindings,
} from './blocks/pasted-block.js';
import { receivedChainReader } from './blocks/received-chain.js';
import { smtpTranscriptReader } from './blocks/smtp-transcript.js';

/** The pasted-block readers (blocks/<kind>.ts), each run over the whole complaint. */
export const blockReaders: readonly BlockReader[] = [
  receivedChainReader,
  digOutputReader,
  smtpTranscriptReader,
];

export function readPastedBlocks(lines: readonly string[], context: BlockContext): BlockFinding {
  return mergeFindings(blockReaders.map((reader) => reader.read(lines, context)));
}
