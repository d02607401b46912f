// A TCP proxy in front of the test server that cuts its connections the way a crashed server, a
// failover or a middlebox does, with no ErrorResponse first:
// - reset (RST): the client sees ECONNRESET, then the close;
// - close (FIN): the client sees the close alone, and postgres.js 3.4.7 rejects the statement in
//   flight only after it has dropped the socket.
// These are the two orders in which postgres.js's sql.begin wrote its ROLLBACK where it should not.
import { createServer, connect, type Server, type Socket } from "node:net";

/**
 * One proxied connection.
 */
interface IPair {
	/**
	 * The client's side.
	 */
	client: Socket;

	/**
	 * The server's side.
	 */
	server: Socket;

	/**
	 * Bytes the client sent since the trigger was armed.
	 */
	uploaded: number;

	/**
	 * Cut the connection once the client has sent more than this many bytes in all.
	 */
	cutAfter?: { bytes: number; mode: "reset" | "close" };
}

/**
 * A proxy to host:port on an ephemeral loopback port.
 */
export class ResetProxy {
	/**
	 * The connections open now.
	 */
	public readonly pairs = new Set<IPair>();

	/**
	 * How many connections were cut.
	 */
	public resets = 0;

	/**
	 * How many new connections were cut by cutNewAfterUpload.
	 */
	public newCuts = 0;

	/**
	 * Reset a connection once the client has sent this many bytes on it (undefined: never).
	 * @internal
	 */
	private _resetAfterUpload?: number;

	/**
	 * Cut new connections once their client has sent this many bytes (undefined: never).
	 * @internal
	 */
	private _cutNewAfter?: { bytes: number; mode: "reset" | "close" };

	/**
	 * Cut the connection that carries the server's next answer holding these bytes (undefined:
	 * none).
	 * @internal
	 */
	private _cutAnswerWith?: Buffer;

	/**
	 * The listening server.
	 * @internal
	 */
	private readonly _server: Server;

	/**
	 * Create a proxy (call listen()).
	 * @param host The server's host.
	 * @param targetPort The server's port.
	 */
	constructor(host: string, targetPort: number) {
		this._server = createServer(client => {
			const pair: IPair = {
				client,
				server: connect(targetPort, host),
				uploaded: 0,
				cutAfter: this._cutNewAfter
			};
			let total = 0;
			this.pairs.add(pair);
			const end = (): void => {
				this.pairs.delete(pair);
				client.destroy();
				pair.server.destroy();
			};
			client.on("error", end).on("close", end);
			pair.server.on("error", end).on("close", end);
			pair.server.on("data", (chunk: Buffer) => {
				if (this._cutAnswerWith !== undefined && chunk.includes(this._cutAnswerWith)) {
					this._cutAnswerWith = undefined;
					// The server has done what was asked; its answer is lost with the connection.
					this.finish(pair);
					return;
				}
				client.write(chunk);
			});
			client.on("data", (chunk: Buffer) => {
				pair.uploaded += chunk.length;
				total += chunk.length;
				if (pair.cutAfter !== undefined && total > pair.cutAfter.bytes) {
					this.newCuts++;
					if (pair.cutAfter.mode === "reset") {
						this.reset(pair);
					} else {
						this.finish(pair);
					}
					return;
				}
				if (this._resetAfterUpload !== undefined && pair.uploaded > this._resetAfterUpload) {
					this.reset(pair);
					return;
				}
				pair.server.write(chunk);
			});
		});
	}

	/**
	 * Listen on an ephemeral loopback port.
	 * @returns The port.
	 */
	public async listen(): Promise<number> {
		await new Promise<void>(resolve => this._server.listen(0, "127.0.0.1", resolve));
		const address = this._server.address();
		if (address === null || typeof address === "string") {
			throw new Error("proxy not listening on TCP");
		}
		return address.port;
	}

	/**
	 * Reset every connection whose client sends more than bytes from now on.
	 * @param bytes The bytes.
	 */
	public resetAfterUpload(bytes: number): void {
		for (const pair of this.pairs) {
			pair.uploaded = 0;
		}
		this._resetAfterUpload = bytes;
	}

	/**
	 * Cut each connection opened from now on once its client has sent more than bytes in all (the
	 * startup message is about 90 bytes: just above it cuts the first statement).
	 * @param bytes The bytes.
	 * @param mode Reset (RST) or close (FIN).
	 */
	public cutNewAfterUpload(bytes: number, mode: "reset" | "close"): void {
		this._cutNewAfter = { bytes, mode };
	}

	/**
	 * Close (FIN) the connection that carries the server's next answer holding a command tag (the
	 * CommandComplete message's text, such as "COMMIT" or "SELECT 1"), dropping that answer: the
	 * server has run (and committed) what the client sent, and the client never learns it.
	 * @param tag The command tag.
	 */
	public cutAnswerWith(tag: string): void {
		this._cutAnswerWith = Buffer.from(`${tag}\0`);
	}

	/**
	 * Stop cutting connections by their uploads.
	 */
	public disarm(): void {
		this._resetAfterUpload = undefined;
		this._cutNewAfter = undefined;
	}

	/**
	 * Reset every open connection now.
	 */
	public resetAll(): void {
		for (const pair of [...this.pairs]) {
			this.reset(pair);
		}
	}

	/**
	 * Close every open connection now (FIN to the client, as a server whose process ended).
	 */
	public closeAll(): void {
		for (const pair of [...this.pairs]) {
			this.finish(pair);
		}
	}

	/**
	 * Close the proxy and every connection.
	 */
	public async close(): Promise<void> {
		for (const pair of [...this.pairs]) {
			pair.client.destroy();
			pair.server.destroy();
		}
		await new Promise<void>(resolve => this._server.close(() => resolve()));
	}

	/**
	 * Close one connection: FIN to the client, the server's side closed.
	 * @param pair The connection.
	 * @internal
	 */
	private finish(pair: IPair): void {
		this.resets++;
		this.pairs.delete(pair);
		pair.server.destroy();
		pair.client.destroy();
	}

	/**
	 * Reset one connection: RST to the client, the server's side closed.
	 * @param pair The connection.
	 * @internal
	 */
	private reset(pair: IPair): void {
		this.resets++;
		this.pairs.delete(pair);
		pair.client.resetAndDestroy();
		pair.server.destroy();
	}
}
