/**
 * A read-only file of the shim backend that shares its bytes instead of copying them.
 *
 * browser_wasi_shim's `File` copies its data when constructed, and its `fd_read`/`fd_pread`
 * return `slice()` copies that `fd_read` then copies into the module's memory. For a bundle's
 * members (a 30-75 MB Whisper model, the stdlib zip) that is two extra copies of every byte
 * on every run. This file keeps the member's bytes as they are (a bundle's members are never
 * written: the guest gets EBADF/EPERM, as with `readonly: true`) and reads through
 * `subarray()` views, so a read copies each byte once, into the module's memory.
 */
import { File, OpenFile } from "@bjorn3/browser_wasi_shim";

const EMPTY = new Uint8Array(0);

class ReadonlyOpenFile extends OpenFile {
  override fd_read(size: number): { ret: number; data: Uint8Array } {
    const start = Number(this.file_pos);
    const data = this.file.data.subarray(start, start + size);
    this.file_pos += BigInt(data.length);
    return { ret: 0, data };
  }

  override fd_pread(size: number, offset: bigint): { ret: number; data: Uint8Array } {
    const start = Number(offset);
    return { ret: 0, data: this.file.data.subarray(start, start + size) };
  }
}

export class ReadonlyFile extends File {
  constructor(data: Uint8Array) {
    super(EMPTY, { readonly: true });
    this.data = data;
  }

  override path_open(oflags: number, fs_rights_base: bigint, fd_flags: number): { ret: number; fd_obj: OpenFile } {
    const opened = super.path_open(oflags, fs_rights_base, fd_flags);
    if (opened.ret !== 0 || opened.fd_obj === null) return opened;
    const file = new ReadonlyOpenFile(this);
    file.file_pos = opened.fd_obj.file_pos; // (append: at the end)
    return { ret: 0, fd_obj: file };
  }
}
