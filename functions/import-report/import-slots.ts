/**
 * Slots for work an import-report instance does at once, bounded per instance and per tenant:
 * what bounds its memory (each report being received or applied holds a bounded amount, see
 * shared/imports/report-scanner.ts) and keeps one tenant from taking every slot.
 */
export interface ImportSlots {
  /** A slot for the tenant, or which bound is reached. */
  take (tenant: string): { release: () => void } | { full: 'instance' | 'tenant' }
  /** Slots taken now. */
  readonly taken: number
}

export function createImportSlots (limits: { perInstance: number, perTenant: number }): ImportSlots {
  let taken = 0
  const byTenant = new Map<string, number>()
  return {
    take (tenant) {
      if (taken >= limits.perInstance) return { full: 'instance' }
      const tenantTaken = byTenant.get(tenant) ?? 0
      if (tenantTaken >= limits.perTenant) return { full: 'tenant' }
      taken++
      byTenant.set(tenant, tenantTaken + 1)
      let released = false
      return {
        release () {
          if (released) return
          released = true
          taken--
          const left = byTenant.get(tenant)! - 1
          if (left === 0) byTenant.delete(tenant)
          else byTenant.set(tenant, left)
        }
      }
    },
    get taken () {
      return taken
    }
  }
}
