"""Who sees a document: documents/permissions.py of Paperless-ngx 2.20.x, the part the list uses."""

from guardian.shortcuts import get_objects_for_user


def get_objects_for_user_owner_aware(user, perms, Model):
    """
    Paperless's rule: the user's own objects, the objects nobody owns, and those the user holds
    the object permission for, given to them or to one of their groups (django-guardian; a global
    permission does not count). A superuser gets everything, through guardian.
    """
    owned = Model.objects.filter(owner=user)
    unowned = Model.objects.filter(owner__isnull=True)
    granted = get_objects_for_user(user=user, perms=perms, klass=Model, accept_global_perms=False)
    return owned | unowned | granted
