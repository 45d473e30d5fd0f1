/**
 * The closed vocabularies of a security record, as data. Schemas, the status workflow,
 * the SLA table and the README are all built from these lists.
 */
export const categories = ['vulnerability', 'misconfiguration', 'secret_exposure', 'malware', 'incident', 'compliance', 'other'] as const
export const severities = ['critical', 'high', 'medium', 'low', 'info'] as const
export const statuses = ['open', 'triaged', 'in_progress', 'resolved', 'false_positive', 'not_affected', 'accepted_risk', 'duplicate'] as const
export const assetTypes = ['service', 'host', 'container_image', 'repository', 'package', 'cloud_resource', 'network', 'application', 'other'] as const
export const environments = ['production', 'staging', 'development', 'test'] as const

export type Category = typeof categories[number]
export type Severity = typeof severities[number]
export type Status = typeof statuses[number]

/** Fields only the server writes; a body that sends one is refused by name. */
export const serverFields = ['id', 'version', 'createdAt', 'updatedAt', 'statusChangedAt', 'createdBy', 'updatedBy', 'dueAt', 'tenant'] as const
