// The value cassandra-driver hands back for a CQL BIGINT, which the ScyllaDB profile's reads give.
/**
 * A 64-bit integer as cassandra-driver returns a BIGINT (a Long of the long package): an object
 * with low, high and unsigned, toNumber() and toString(), and no valueOf.
 */
export class ScyllaLong {
	/**
	 * The low 32 bits.
	 */
	public readonly low: number;

	/**
	 * The high 32 bits.
	 */
	public readonly high: number;

	/**
	 * Always false (CQL bigint is signed).
	 */
	public readonly unsigned = false;

	/**
	 * Create a new ScyllaLong.
	 * @param value The value.
	 */
	constructor(value: bigint) {
		this.low = Number(BigInt.asIntN(32, value));
		this.high = Number(BigInt.asIntN(32, value >> 32n));
	}

	/**
	 * The value as a number.
	 * @returns The number.
	 */
	public toNumber(): number {
		return this.high * 4294967296 + (this.low >>> 0);
	}

	/**
	 * The value in decimal.
	 * @returns The text.
	 */
	public toString(): string {
		return String(this.toNumber());
	}
}
