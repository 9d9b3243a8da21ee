/** A block FS PBX's setup_logical_replication.sh wrote into pg_hba.conf, found by its marker lines. */
export interface FspbxHbaBlock {
  file: string;
  peer: string;
  /** 1-based line numbers of the header and of the footer (null when the footer is missing). */
  begin: number;
  end: number | null;
  rules: string[];
}

const HEADER = /^# >>> fspbx logical replication \((.+)\) >>>\s*$/;
const FOOTER = /^# <<< fspbx logical replication \((.+)\) <<<\s*$/;

/**
 * Every `# >>> fspbx logical replication (<peer>) >>>` … `# <<< … <<<` block of a pg_hba.conf, with the
 * rule lines inside it (comments and blank lines left out); a header without its footer runs to the end.
 */
export function fspbxHbaBlocks(text: string, file: string): FspbxHbaBlock[] {
  const lines = text.split(/\r?\n/);
  const blocks: FspbxHbaBlock[] = [];
  let open: FspbxHbaBlock | undefined;
  lines.forEach((raw, i) => {
    const line = raw.trimEnd();
    const header = HEADER.exec(line);
    if (header) {
      if (open) blocks.push(open);
      open = { file, peer: header[1]!, begin: i + 1, end: null, rules: [] };
      return;
    }
    if (!open) return;
    const footer = FOOTER.exec(line);
    if (footer && footer[1] === open.peer) {
      blocks.push({ ...open, end: i + 1 });
      open = undefined;
    } else if (line.trim() !== '' && !line.trimStart().startsWith('#')) {
      open.rules.push(line.trim().replace(/\s+/g, ' '));
    }
  });
  if (open) blocks.push(open);
  return blocks;
}
