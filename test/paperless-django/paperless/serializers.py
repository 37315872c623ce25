"""The user, group and profile serializers of Paperless-ngx 2.20.x."""

from django.contrib.auth.models import Group, Permission, User
from rest_framework import serializers
from rest_framework.authtoken.models import Token

from documents.models import Document


class ObfuscatedUserPasswordField(serializers.Field):
    """Reads back as asterisks; a write of only asterisks leaves the password unchanged."""

    def to_representation(self, value):
        return "**********" if len(value) > 0 else ""

    def to_internal_value(self, data):
        return data


def _permissions():
    return Permission.objects.exclude(content_type__app_label="admin")


class UserSerializer(serializers.ModelSerializer):
    password = ObfuscatedUserPasswordField(required=False)
    user_permissions = serializers.SlugRelatedField(many=True, queryset=_permissions(), slug_field="codename", required=False)
    inherited_permissions = serializers.SerializerMethodField()
    is_mfa_enabled = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = (
            "id", "username", "email", "password", "first_name", "last_name", "date_joined",
            "is_staff", "is_active", "is_superuser", "groups", "user_permissions",
            "inherited_permissions", "is_mfa_enabled",
        )

    def get_inherited_permissions(self, obj):
        return obj.get_group_permissions()

    def get_is_mfa_enabled(self, obj):
        return False

    def _set_password(self, user, password):
        if password is not None and password.replace("*", "") != "":
            user.set_password(password)
            user.save()

    def update(self, instance, validated_data):
        password = validated_data.pop("password", None)
        super().update(instance, validated_data)
        self._set_password(instance, password)
        return instance

    def create(self, validated_data):
        groups = validated_data.pop("groups", None)
        user_permissions = validated_data.pop("user_permissions", None)
        password = validated_data.pop("password", None)
        user = User.objects.create(**validated_data)
        if groups is not None:
            user.groups.set(groups)
        if user_permissions is not None:
            user.user_permissions.set(user_permissions)
        self._set_password(user, password)
        return user


class GroupSerializer(serializers.ModelSerializer):
    permissions = serializers.SlugRelatedField(many=True, queryset=_permissions(), slug_field="codename")

    class Meta:
        model = Group
        fields = ("id", "name", "permissions")


class DocumentSerializer(serializers.ModelSerializer):
    """The fields of Paperless's DocumentSerializer the tests read; owner is the user's id."""

    class Meta:
        model = Document
        fields = ("id", "title", "owner")


class ProfileSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(allow_blank=True, required=False)
    password = ObfuscatedUserPasswordField(required=False, allow_null=False)
    auth_token = serializers.SlugRelatedField(read_only=True, slug_field="key")
    has_usable_password = serializers.SerializerMethodField()
    is_mfa_enabled = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("email", "password", "first_name", "last_name", "auth_token", "has_usable_password", "is_mfa_enabled")

    def get_has_usable_password(self, obj):
        return obj.has_usable_password()

    def get_is_mfa_enabled(self, obj):
        return False


def token_of(user):
    return Token.objects.filter(user=user).first()
