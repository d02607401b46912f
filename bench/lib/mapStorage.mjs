// Copyright 2026 the contributors.
// SPDX-License-Identifier: Apache-2.0.
// An O(1) entity storage for the "ceiling" scenario only: get/set/remove through a Map keyed by the
// primary key, query with the same semantics as the in-memory connector (conditions, schema sort,
// numeric cursor, page size 40 by default). It shows what the connector itself can do when storage
// costs next to nothing; every scenario of the issue uses the real in-memory connector.
import { Coerce, ObjectHelper } from "@twin.org/core";
import {
	EntityConditions,
	EntitySchemaFactory,
	EntitySchemaHelper,
	EntitySorter
} from "@twin.org/entity";

/**
 * Map-backed IEntityStorageConnector.
 */
export class MapStorage {
	/**
	 * Create the storage.
	 * @param {{ entitySchema: string }} options The entity schema name.
	 */
	constructor(options) {
		this.CLASS_NAME = "MapStorage";
		this._schema = EntitySchemaFactory.get(options.entitySchema);
		this._key = EntitySchemaHelper.getPrimaryKey(this._schema).property;
		/** @type {Map<string, any>} */
		this._map = new Map();
	}

	getSchema() {
		return this._schema;
	}

	getStore() {
		return [...this._map.values()];
	}

	async get(id) {
		return this._map.get(id);
	}

	async set(entity) {
		EntitySchemaHelper.validateEntity(entity, this._schema);
		this._map.set(entity[this._key], entity);
	}

	async remove(id) {
		this._map.delete(id);
	}

	async query(conditions, sortProperties, properties, cursor, pageSize) {
		const sorted = EntitySorter.sort(
			[...this._map.values()].filter(e => EntityConditions.check(e, conditions)),
			EntitySchemaHelper.buildSortProperties(this._schema, sortProperties)
		);
		const start = Coerce.number(cursor) ?? 0;
		const size = pageSize ?? 40;
		const page = sorted.slice(start, start + size).map(e => ObjectHelper.pick(e, properties));
		return {
			entities: page,
			cursor: start + size < sorted.length ? String(start + size) : undefined
		};
	}
}
